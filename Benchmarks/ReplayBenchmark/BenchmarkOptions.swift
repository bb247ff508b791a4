/// The command line of `ReplayBenchmark`: `[--days 30] [--interval 5] [--dags-per-day 4]`.
struct BenchmarkOptions {
    var days = 30
    var interval = 5
    var dagsPerDay = 4

    static let usage = "usage: ReplayBenchmark [--days 30] [--interval 5] [--dags-per-day 4]"

    /// Reads the arguments after the program name; returns why they are wrong instead of guessing.
    static func parse(_ arguments: [String]) -> Result<BenchmarkOptions, OptionsError> {
        var options = BenchmarkOptions()
        var index = 0
        while index < arguments.count {
            let flag = arguments[index]
            if flag == "--help" || flag == "-h" { return .failure(OptionsError(message: Self.usage)) }
            guard index + 1 < arguments.count else {
                return .failure(OptionsError(message: "\(flag) needs a value\n\(Self.usage)"))
            }
            guard let value = Int(arguments[index + 1]) else {
                return .failure(OptionsError(message: "\(flag) takes a whole number, not \(arguments[index + 1])"))
            }
            switch flag {
            case "--days": options.days = value
            case "--interval": options.interval = value
            case "--dags-per-day": options.dagsPerDay = value
            default: return .failure(OptionsError(message: "unknown option \(flag)\n\(Self.usage)"))
            }
            index += 2
        }
        guard options.days > 0, options.days <= 3650 else {
            return .failure(OptionsError(message: "--days must be between 1 and 3650"))
        }
        guard options.interval > 0, options.interval <= 86_400 else {
            return .failure(OptionsError(message: "--interval must be between 1 and 86400 seconds"))
        }
        guard options.dagsPerDay >= 0, options.dagsPerDay <= 1_000 else {
            return .failure(OptionsError(message: "--dags-per-day must be between 0 and 1000"))
        }
        return .success(options)
    }
}

/// A command line the benchmark cannot run with.
struct OptionsError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}
