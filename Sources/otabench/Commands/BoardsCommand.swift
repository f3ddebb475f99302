import ArgumentParser
import Bench
import Firmware
import Foundation

struct BoardsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boards", abstract: "List the Particle boards on USB: platform, mode, device id.")

    @OptionGroup var output: OutputOptions
    var json: Bool { output.json }

    func run() async throws {
        let boards: [USBBoardListing]
        do { boards = try await USBBoard.listAll() } catch {
            reportError("boards: \(error); is libusb able to see USB devices here?")
            throw ExitStatus.couldNotRun.exitCode
        }
        if json {
            let rows = boards.map { board in
                ["platform": board.platform ?? "unknown", "mode": board.mode, "deviceId": board.deviceID ?? "",
                 "usb": String(format: "%04x:%04x", board.vendorID, board.productID),
                 "bus": "\(board.bus)", "address": "\(board.address)",
                 "deviceOS": board.deviceOS ?? "", "app": board.app ?? ""]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(rows) + Data("\n".utf8))
            return
        }
        if boards.isEmpty { print("no Particle boards on USB") }
        for board in boards {
            let detail = board.deviceOS.map { "\tDevice OS \($0)\t\(board.app ?? "none")" } ?? ""
            print("\(board.deviceID ?? "-")\t\(board.platform ?? "unknown")\t\(board.mode)\t"
                  + String(format: "%04x:%04x bus %d device %d", board.vendorID, board.productID, board.bus, board.address)
                  + detail)
        }
    }
}
