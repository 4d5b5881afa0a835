/// Everything the report refuses, each naming the study's file (or the output file) and the problem.
public enum ReportError: Error, Equatable, Sendable {
    /// The study file (or a file it names) could not be read, or holds no usable data.
    case unreadableInput(file: String, problem: String)
    /// The database has no study of that name; `available` lists the ones it has.
    case unknownStudy(file: String, study: String, available: [String])
    /// An arm the report needs was not probed; `neededFor` says what needs it.
    case missingArm(file: String, arm: String, neededFor: String)
    /// An arm has no values of a metric on a region the rule asks for.
    case missingMetric(file: String, metric: String, region: String, arm: String)
    /// Fewer than two clips were measured, so no confidence interval exists.
    case tooFewClips(file: String, count: Int)
    /// The sync window rule found no window; `reason` says which test failed.
    case noWindow(file: String, reason: String)
    /// The two-step schedule has no landing step within the tolerance.
    case noLandingStep(file: String, reason: String)
    /// The study is not finished and `--allow-partial` was not given.
    case partialStudy(file: String, status: String)
    /// A command-line option's value is out of range or inconsistent.
    case invalidOption(name: String, problem: String)
    /// An output file could not be written.
    case writeFailed(file: String, problem: String)
    /// A figure could not be drawn or encoded (Cairo or libpng reported `problem`).
    case renderFailed(figure: String, problem: String)
    /// PNG bytes (a rendered figure read back) could not be decoded.
    case pngDecodeFailed(file: String, problem: String)
    /// The study does not record a parameter an analysis needs (`num_steps`, `shift`…): the
    /// report says so rather than assume a value.
    case unknownParameter(file: String, parameter: String, neededFor: String)
}

extension ReportError: CustomStringConvertible {
    /// One sentence naming the file or option and the problem, as the CLI prints it.
    public var description: String {
        switch self {
        case .unreadableInput(let file, let problem):
            return "\(file): cannot read the study: \(problem)."
        case .unknownStudy(let file, let study, let available):
            return "\(file): no study named '\(study)' (available: \(available.joined(separator: ", ")))."
        case .missingArm(let file, let arm, let neededFor):
            return "\(file): arm '\(arm)' is missing; it is needed for \(neededFor)."
        case .missingMetric(let file, let metric, let region, let arm):
            return "\(file): no '\(metric)' values on region '\(region)' for arm '\(arm)'."
        case .tooFewClips(let file, let count):
            return "\(file): \(count) clip(s) measured; confidence intervals need at least 2."
        case .noWindow(let file, let reason):
            return "\(file): no sync window: \(reason)."
        case .noLandingStep(let file, let reason):
            return "\(file): no two-step landing point: \(reason)."
        case .partialStudy(let file, let status):
            return "\(file): the study is \(status), not finished; complete it (run the command that made it again) or pass --allow-partial."
        case .invalidOption(let name, let problem):
            return "option \(name): \(problem)."
        case .writeFailed(let file, let problem):
            return "\(file): cannot write: \(problem)."
        case .renderFailed(let figure, let problem):
            return "figure \(figure): cannot render: \(problem)."
        case .pngDecodeFailed(let file, let problem):
            return "\(file): not a readable PNG: \(problem)."
        case .unknownParameter(let file, let parameter, let neededFor):
            return "\(file): the study does not record \(parameter), which \(neededFor) needs (unknown, never assumed)."
        }
    }
}
