import ControlRequests
import Firmware
import Foundation
import ScenarioAPI
import Serial
import USB

/// A board reached on its serial port in listening mode, to be flashed by `f` and YMODEM
/// (Device OS before 6.0.0, every platform): found, asked for its module table and its
/// Device OS version, checked, sent the image.
public final class SerialFlashing: Sendable {
    /// Why the board could not be reached or asked (not a verdict on the image).
    public struct Unreachable: Error, CustomStringConvertible {
        public var description: String
    }

    public let target: SerialTarget
    public let platform: Platform
    private let table: ModuleTableDescription
    /// What the board answered to `v`.
    public let deviceOSVersion: String
    private let port: SerialPort

    /// Finds the port, puts the board in listening mode and reads its module table.
    public init(_ target: SerialTarget) async throws {
        self.target = target
        // A board on USB is asked for listening mode by control request first.
        if let deviceID = target.deviceID, let device = try? ParticleDevice.find(deviceID: deviceID), device.mode == .normal {
            try? await ControlRequestClient(pipe: try USBDeviceConnection(device.usb)).startListening()
        }
        let port: SerialPort
        do { port = try SerialPort.open(try await target.path(timeout: .seconds(10))) } catch {
            throw Unreachable(description: "\(error)")
        }
        let table: ModuleTableDescription
        let version: String
        do {
            table = try await Self.moduleTable(on: port, board: target.name)
            do { version = try await ListeningModeClient(stream: port, timeout: .seconds(5)).systemVersion() } catch {
                throw Unreachable(description: "\(target.name): \(error)")
            }
        } catch {
            port.closeNow()
            throw error
        }
        guard let platform = Platform.catalog.first(where: { Int($0.id.rawValue) == table.platformID }) else {
            port.closeNow()
            throw Unreachable(description: "\(target.name) reports platform \(table.platformID), which otabench does not know")
        }
        self.platform = platform
        self.table = table
        self.deviceOSVersion = version
        self.port = port
    }

    deinit { port.closeNow() }

    /// A short first question: a board not yet listening stays silent, and is asked by baud rate.
    private static func moduleTable(on port: SerialPort, board: String) async throws -> ModuleTableDescription {
        do { return try await ListeningModeClient(stream: port, timeout: .seconds(2)).moduleTable() } catch is ListeningModeError {
            // Not listening (silence, or its application's log). Device OS before 6.0.0
            // enters listening mode when the line is set to 28800 baud, on every platform. The line stays at 28800 until
            // the board answers: a pulse of fixed length is missed by a board that looks at
            // the line coding late (a busy host, a slow USB stack). The rate does not matter to
            // the bytes on a USB serial line, so the questions go at 28800.
            try? port.setBitRate(28800)
            defer { try? port.setBitRate(9600) }
            let asking = ListeningModeClient(stream: port, timeout: .milliseconds(500))
            let limit = ContinuousClock.now + .seconds(15)
            while true {
                do { return try await asking.moduleTable() } catch is ListeningModeError where ContinuousClock.now < limit {
                    continue  // not listening yet: ask again
                } catch {
                    throw Unreachable(description: "\(board): \(error) (asked for 15 s with the line at 28800 baud)")
                }
            }
        } catch {
            throw Unreachable(description: "\(board): \(error)")
        }
    }

    /// Why the board would not take `module` this way: the host guard against its module table,
    /// and Device OS 6.0.0 and later, which no longer take firmware by YMODEM.
    public func problems(for module: FirmwareModule) -> [String] {
        var problems = HostGuard.problems(module, on: platform, installed: table.installedModules).map(\.description)
        if let version = DeviceOSVersion(deviceOSVersion), !version.takesYModem {
            problems.append("\(platform.buildName) runs Device OS \(version), which no longer takes firmware by YMODEM (it answers `f` with CAN); use --dfu")
        }
        return problems
    }

    /// Sends `bytes` by `f` and YMODEM and returns what the board then said.
    public func send(_ bytes: [UInt8], name: String, progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> SerialFlashOutcome {
        try await ListeningModeClient(stream: port, timeout: .seconds(5)).flash(bytes, name: name, deviceOS: DeviceOSVersion(deviceOSVersion),
                                                                          progress: progress)
    }
}

/// What a board said after an image sent by listening mode's `f`.
public typealias SerialFlashOutcome = Serial.SerialFlashOutcome
