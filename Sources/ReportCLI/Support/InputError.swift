/// A bad input file named on the command line: one line, exit status 1 (not a usage error, so no
/// usage text follows it).
struct InputError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
