import ArgumentParser

/// `--json`, for every command that prints something a script may read.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON instead of text.")
    var json = false
}
