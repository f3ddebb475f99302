import Foundation
import Testing

@Suite("otabench emulate --usb")
struct EmulateCommandTests {
    @Test("Serves emulated boards to another process: dfu-util lists their DFU memories; the testbed goes on exit")
    func dfuUtilListsServedBoards() async throws {
        let server = Process()
        server.executableURL = OtabenchProcess.executable
        server.arguments = ["emulate", "--usb", "--platform", "boron", "--platform", "photon", "--dfu"]
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        var text = ""
        let reader = output.fileHandleForReading
        while !text.contains("serving") {
            let data = reader.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let directory = try #require(text.split(separator: "\n").first { $0.hasPrefix("UMOCKDEV_DIR=") }?.dropFirst("UMOCKDEV_DIR=".count))
        #expect(text.contains("boron\t2b04:d00d\t"))

        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/dfu-util")
        client.arguments = ["-l"]
        client.environment = ["UMOCKDEV_DIR": String(directory), "LD_PRELOAD": "libumockdev-preload.so.0", "PATH": "/usr/bin:/bin"]
        let listing = Pipe()
        client.standardOutput = listing
        client.standardError = FileHandle.nullDevice
        try client.run()
        let listed = String(decoding: listing.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        #expect(listed.contains("[2b04:d00d]") && listed.contains("[2b04:d006]"), "\(listed)")
        #expect(listed.contains("name=\"@External Flash   /0x80000000/1024*004Kg\""))
        #expect(listed.contains("name=\"@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg\""))

        server.terminate()
        server.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: String(directory)))
    }

    @Test("Without a way to serve, emulate says so and exits 2")
    func needsATransport() throws {
        let result = try OtabenchProcess.run(["emulate"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("--usb"))
    }
}
