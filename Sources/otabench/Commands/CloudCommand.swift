import ArgumentParser
import Bench
import Firmware
import Foundation

struct CloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloud",
        abstract: "The local device cloud: Particle's cloud API subset for emulated fleets, without Particle's cloud.",
        subcommands: [Serve.self, Fleet.self]
    )
}
