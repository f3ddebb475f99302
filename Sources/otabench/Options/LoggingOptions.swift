import ArgumentParser
import Logging

/// `--verbose`, for the commands under which the bench does work worth following as it goes.
struct LoggingOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Print what the bench does as it does it on stderr: each step, measurement, recovery rung and power check, and the local cloud's debug lines.")
    var verbose = false

    var level: Logger.Level { verbose ? .debug : .notice }
}

/// A command whose work logs. Every command's logs go to stderr, so stdout stays the command's
/// output for scripts; only these can be made to say more.
protocol LoggingCommand {
    var logging: LoggingOptions { get }
}

/// Sends every logger of the process to stderr at `level`. Called once, before the command runs.
func bootstrapLogging(_ level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
