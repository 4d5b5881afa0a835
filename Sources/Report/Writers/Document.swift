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
        var body = "<h1>\(HTML.inline(title))</h1>\n"
        var context = title
        for b in blocks {
            switch b {
            case .heading(let level, let text):
                body += "<h\(level)>\(HTML.inline(text))</h\(level)>\n"
                context = HTML.plain(text)
            case .paragraph(let text): body += "<p>\(HTML.inline(text))</p>\n"
            case .callout(let text): body += "<div class=\"callout\">\(HTML.inline(text))</div>\n"
            case .list(let items): body += "<ul>\n" + items.map { "<li>\(HTML.inline($0))</li>" }.joined(separator: "\n") + "\n</ul>\n"
            case .table(let header, let rows): body += HTML.table(header, rows, label: context)
            case .code(let text): body += "<pre><code>\(HTML.esc(text))</code></pre>\n"
            case .figure(let f, _): body += "<figure>\(HTML.img(f))<figcaption>\(HTML.inline(f.caption))</figcaption></figure>\n"
            case .figureRow(let items):
                body += "<div class=\"row\">" + items.map { "<figure>\(HTML.img($0.figure, study: $0.title))<figcaption><strong>\(HTML.esc($0.title))</strong>: \(HTML.inline($0.figure.caption))</figcaption></figure>" }.joined() + "</div>\n"
            }
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.esc(title))</title>
            <style>
            \(HTML.css)</style>
            <script>
            // Folded lists print unfolded.
            addEventListener("beforeprint", () => { for (const d of document.querySelectorAll("details")) d.open = true; });
            </script>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }
}

/// The HTML form of the report's blocks: one self-contained file that lays out from a 390 px
/// phone to a wide screen and prints on A4.
///
/// Tables sit in their own horizontal scroll container with the first column sticky, so a
/// 19-column table never widens the page; cells that are long lists fold into `<details>`;
/// numbers are right-aligned, text left-aligned. Everything is inline (no fetch), so the file can
/// be mailed or archived as it is.
enum HTML {
    /// A cell longer than this (characters of its plain text) folds into `<details>`.
    static let foldLength = 200

    // MARK: - Escaping and inline markup

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The text without its Markdown marks (for alt text, labels and length checks).
    static func plain(_ s: String) -> String {
        s.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "`", with: "")
    }

    /// `code` spans and **bold** in the Markdown text of paragraphs and cells. A code span of
    /// more than 32 characters without a space (a sha256, a path) may break anywhere, so it
    /// cannot widen its line past a phone screen.
    static func inline(_ s: String) -> String {
        var out = "", bold = false
        var code: String? = nil
        var chars = Array(esc(s))[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if c == "`" {
                if let span = code {
                    out += (span.count > 32 && !span.contains(" ") ? "<code class=\"long\">" : "<code>") + span + "</code>"
                    code = nil
                } else {
                    code = ""
                }
                continue
            }
            if code != nil { code!.append(c); continue }
            if c == "*", chars.first == "*" { chars = chars.dropFirst(); out += bold ? "</strong>" : "<strong>"; bold.toggle(); continue }
            out.append(c)
        }
        if let span = code { out += "<code>\(span)</code>" }
        if bold { out += "</strong>" }
        return out
    }

    // MARK: - Tables

    /// Whether a cell holds a number (an estimate with its CI, a percentage, a step range) rather
    /// than text: numbers are right-aligned so their digits line up.
    static func isNumeric(_ cell: String) -> Bool {
        var s = plain(cell).trimmingCharacters(in: .whitespaces)
        if s == "-" || s == "n/a" { return true }
        if s.hasSuffix(" (no CI)") { s = String(s.dropLast(8)) }
        var digits = 0
        for ch in s.unicodeScalars {
            if CharacterSet.decimalDigits.contains(ch) { digits += 1; continue }
            if " .,+-−%[]()×e".unicodeScalars.contains(ch) { continue }
            return false
        }
        return digits > 0
    }

    /// A long list as its items: a JSON array, or `code` items separated by ", " (the arm
    /// labels); nil for prose, which may contain commas too.
    static func listItems(_ cell: String) -> [String]? {
        let s = cell.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("["), s.hasSuffix("]"), let data = s.data(using: .utf8),
           let array = try? JSONSerialization.jsonObject(with: data) as? [Any] {
            return array.map { item in
                if let str = item as? String { return str }
                if let n = item as? NSNumber { return n.stringValue }
                return (try? JSONSerialization.data(withJSONObject: item, options: [.sortedKeys, .fragmentsAllowed]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "\(item)"
            }
        }
        let parts = s.components(separatedBy: ", ")
        let isCode = { (p: String) in p.count >= 2 && p.hasPrefix("`") && p.hasSuffix("`") && p.dropFirst().dropLast().allSatisfy { $0 != "`" } }
        return parts.count >= 2 && parts.allSatisfy(isCode) ? parts : nil
    }

    static func cell(_ text: String) -> String {
        guard plain(text).count > foldLength else { return inline(text) }
        if let items = listItems(text) {
            let preview = items.prefix(3).map { plain($0) }.joined(separator: ", ")
            let body = items.map { "<span class=\"item\">\(inline($0))</span>" }.joined(separator: ", ")
            return "<details><summary>\(items.count) items: \(esc(String(preview.prefix(60))))…</summary><div class=\"list\">\(body)</div></details>"
        }
        var preview = ""
        for w in plain(text).split(separator: " ") {
            guard preview.count + w.count < 60 else { break }
            preview += (preview.isEmpty ? "" : " ") + w
        }
        return "<details><summary>\(esc(preview))…</summary><div class=\"list\">\(inline(text))</div></details>"
    }

    /// A table in its own scroll container (keyboard-focusable, labelled by its section).
    static func table(_ header: [String], _ rows: [[String]], label: String) -> String {
        let columns = max(header.count, rows.map(\.count).max() ?? 0)
        let numeric: [Bool] = (0..<columns).map { k in
            let cells = rows.compactMap { k < $0.count ? $0[k] : nil }.filter { !plain($0).trimmingCharacters(in: .whitespaces).isEmpty }
            return !cells.isEmpty && cells.filter(isNumeric).count * 2 >= cells.count
        }
        func attrs(_ k: Int, _ text: String?) -> String {
            if k < columns, numeric[k], text.map(isNumeric) ?? true { return " class=\"num\"" }
            return ""
        }
        var out = "<div class=\"table-scroll\" role=\"region\" tabindex=\"0\" aria-label=\"\(esc(label)) (table)\">\n<table>\n<thead><tr>"
        // Headers may wrap after an underscore (fresh_noise, euler_jump) before anywhere else.
        out += header.enumerated().map { k, h in
            "<th scope=\"col\"\(attrs(k, nil))>\(inline(h).replacingOccurrences(of: "_", with: "_<wbr>"))</th>"
        }.joined() + "</tr></thead>\n<tbody>\n"
        out += rows.map { row in
            "<tr>" + row.enumerated().map { k, c in "<td\(attrs(k, c))>\(cell(c))</td>" }.joined() + "</tr>"
        }.joined(separator: "\n")
        return out + "\n</tbody>\n</table>\n</div>\n"
    }

    // MARK: - Figures

    /// The figure with its intrinsic size (so the page reserves its box and keeps its aspect
    /// while it scales down) and its caption as alt text.
    static func img(_ f: Figure, study: String? = nil) -> String {
        let size = pngSize(f.png)
        let dims = size.map { " width=\"\($0.width)\" height=\"\($0.height)\"" } ?? ""
        let alt = "Figure \(f.name)" + (study.map { " (\($0))" } ?? "") + ": " + plain(f.caption)
        return "<img alt=\"\(esc(alt))\"\(dims) src=\"data:image/png;base64,\(Data(f.png).base64EncodedString())\">"
    }

    /// Width and height from a PNG's IHDR chunk.
    static func pngSize(_ png: [UInt8]) -> (width: Int, height: Int)? {
        guard png.count >= 24, png[12...15].elementsEqual("IHDR".utf8) else { return nil }
        func be(_ i: Int) -> Int { png[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        return (be(16), be(20))
    }

    // MARK: - Style sheet

    static let css = """
        * { box-sizing: border-box; }
        html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
        h1, h2, h3, h4, p, li, .callout, figcaption { overflow-wrap: break-word; }
        h1 { font-size: 1.6em; }
        code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.92em; }
        code.long { overflow-wrap: anywhere; word-break: break-all; }
        .table-scroll { overflow-x: auto; width: fit-content; max-width: 100%; margin: 0.5em 0 1.5em; border: 1px solid #ccc; }
        .table-scroll:focus { outline: 2px solid #4a90d9; }
        table { border-collapse: separate; border-spacing: 0; font-size: 0.85em; }
        th, td { border-right: 1px solid #ddd; border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
        tr > :last-child { border-right: none; } tbody tr:last-child > * { border-bottom: none; }
        th { background: #f2f2f2; }
        .num { text-align: right; font-variant-numeric: tabular-nums; } td.num { white-space: nowrap; }
        th:first-child, td:first-child { position: sticky; left: 0; z-index: 1; background: #fff; box-shadow: inset -1px 0 #bbb; }
        th:first-child { background: #f2f2f2; }
        td:first-child:not(.num) { min-width: 7em; max-width: 40vw; }
        td:not(.num):not(:first-child) { min-width: min(20em, 60vw); }
        details summary { cursor: pointer; color: #0b5cad; }
        details .list { padding: 0.2em 0 0.2em 0.8em; }
        figure { margin: 1em 0; }
        figure img { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
        figcaption { font-size: 0.85em; color: #444; }
        .row { display: flex; flex-wrap: wrap; gap: 1em; } .row figure { flex: 1 1 300px; min-width: 0; }
        .callout { background: #fff3cd; border-left: 4px solid #e0a800; padding: 0.5em 1em; margin: 1em 0; }
        pre { background: #f6f8fa; padding: 0.8em; font-size: 0.85em; white-space: pre-wrap; overflow-wrap: anywhere; }
        @media (max-width: 600px) {
          body { margin: 1em auto; padding: 0 0.6em; font-size: 15px; }
          h1 { font-size: 1.35em; }
          table { font-size: 0.8em; }
        }
        @media print {
          @page { size: A4; margin: 14mm 12mm; }
          body { max-width: none; margin: 0; padding: 0; font-size: 9pt; }
          .table-scroll { overflow: visible; border: none; }
          table { font-size: 6pt; border-collapse: collapse; }
          th, td { padding: 1px 2px; white-space: normal; border: 0.5pt solid #999; }
          th { overflow-wrap: anywhere; min-width: 2.6em; }
          td:not(.num):not(:first-child) { min-width: 0; }
          td.num { white-space: normal; }
          th:first-child, td:first-child { position: static; box-shadow: none; max-width: none; }
          thead { display: table-header-group; }
          tr, figure, pre, .callout, .row { break-inside: avoid; }
          h1, h2, h3, h4 { break-after: avoid; }
          figure img { max-height: 240mm; width: auto; max-width: 100%; border: none; }
          details::details-content { content-visibility: visible; }
          a { color: inherit; text-decoration: none; }
        }

        """
}
