import Foundation

/// A report as blocks, rendered to Markdown and to single-file HTML from the same content.
struct Document {
    enum Block {
        case heading(Int, String)
        case paragraph(String)
        case callout(String)
        case list([String])
        case table([String], [[String]])
        case code(String)
        case figure(Figure, path: String)
        /// Figures of several studies side by side (HTML) or one after another (Markdown).
        case figureRow([(title: String, figure: Figure, path: String)])
    }

    var title: String
    var blocks: [Block] = []

    mutating func add(_ b: Block) { blocks.append(b) }

    func markdown() -> String {
        var out = "# \(title)\n\n"
        for b in blocks {
            switch b {
            case .heading(let level, let text): out += String(repeating: "#", count: level) + " \(text)\n\n"
            case .paragraph(let text): out += "\(text)\n\n"
            case .callout(let text): out += "> **\(text)**\n\n"
            case .list(let items): out += items.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
            case .table(let header, let rows):
                func row(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |" }
                out += row(header) + "\n" + row(header.map { _ in "---" }) + "\n" + rows.map(row).joined(separator: "\n") + "\n\n"
            case .code(let text): out += "```\n\(text)\(text.hasSuffix("\n") ? "" : "\n")```\n\n"
            case .figure(let f, let path): out += "![\(f.caption)](\(path))\n\n*\(f.caption)*\n\n"
            case .figureRow(let items):
                for item in items { out += "**\(item.title)**\n\n![\(item.figure.caption)](\(item.path))\n\n" }
            }
        }
        return out
    }

    func html() -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        /// `code` spans and **bold** in the Markdown text of paragraphs and cells.
        func inline(_ s: String) -> String {
            var out = "", code = false, bold = false
            var chars = Array(esc(s))[...]
            while let c = chars.first {
                chars = chars.dropFirst()
                if c == "`" { out += code ? "</code>" : "<code>"; code.toggle(); continue }
                if !code, c == "*", chars.first == "*" { chars = chars.dropFirst(); out += bold ? "</strong>" : "<strong>"; bold.toggle(); continue }
                out.append(c)
            }
            if code { out += "</code>" }
            if bold { out += "</strong>" }
            return out
        }
        func img(_ f: Figure) -> String {
            "<img alt=\"\(esc(f.caption))\" src=\"data:image/png;base64,\(Data(f.png).base64EncodedString())\">"
        }
        var body = "<h1>\(inline(title))</h1>\n"
        for b in blocks {
            switch b {
            case .heading(let level, let text): body += "<h\(level)>\(inline(text))</h\(level)>\n"
            case .paragraph(let text): body += "<p>\(inline(text))</p>\n"
            case .callout(let text): body += "<div class=\"callout\">\(inline(text))</div>\n"
            case .list(let items): body += "<ul>\n" + items.map { "<li>\(inline($0))</li>" }.joined(separator: "\n") + "\n</ul>\n"
            case .table(let header, let rows):
                body += "<table>\n<thead><tr>" + header.map { "<th>\(inline($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
                body += rows.map { "<tr>" + $0.map { "<td>\(inline($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n") + "\n</tbody></table>\n"
            case .code(let text): body += "<pre><code>\(esc(text))</code></pre>\n"
            case .figure(let f, _): body += "<figure>\(img(f))<figcaption>\(inline(f.caption))</figcaption></figure>\n"
            case .figureRow(let items):
                body += "<div class=\"row\">" + items.map { "<figure>\(img($0.figure))<figcaption><strong>\(esc($0.title))</strong>: \(inline($0.figure.caption))</figcaption></figure>" }.joined() + "</div>\n"
            }
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(esc(title))</title>
            <style>
            body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
            table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
            th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
            th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
            figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
            figcaption { font-size: 0.85em; color: #444; }
            .row { display: flex; gap: 1em; } .row figure { flex: 1; min-width: 0; }
            .callout { background: #fff3cd; border-left: 4px solid #e0a800; padding: 0.5em 1em; margin: 1em 0; }
            pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
            code { font-family: "DejaVu Sans Mono", monospace; }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }
}
