import Foundation
import Links
import NIOConcurrencyHelpers
import Serial
import TestSupport
import USB

/// What the kernel's cdc_acm driver is to a real board, for a board umockdev serves: a tty
/// (a pseudo-terminal) whose bytes go over the board's CDC data endpoints through libusb, gone
/// when the board leaves USB and back, as a new one, when it returns. Hosts open it by a link
/// outside /dev, as udev's /dev/serial/by-id: umockdev's preload answers termios requests on
/// whatever is opened under /dev itself, and refuses them.
final class CDCTerminal: Sendable {
    /// The link to the current tty, while the board is on USB in normal mode.
    let link: URL
    private let attached = NIOLockedValueBox(false)
    private let pump: Task<Void, Never>

    init(deviceID: String) throws {
        let link = try temporaryFolder("cdc-acm").appendingPathComponent("ttyACM-\(deviceID)")
        self.link = link
        let attached = self.attached
        pump = Task {
            while !Task.isCancelled {
                try? FileManager.default.removeItem(at: link)
                guard let device = try? USBDiscovery.particleDevices(deviceID: deviceID).first, device.productID & 0xF000 != 0xD000,
                      let connection = try? USBDeviceConnection(device), (try? await connection.claimInterface(1)) != nil,
                      let terminal = try? PseudoTerminal(),
                      (try? FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: terminal.slavePath)) != nil
                else {
                    try? await Task.sleep(for: .milliseconds(20))
                    continue
                }
                attached.withLockedValue { $0 = true }
                await Self.carry(terminal, connection)
                attached.withLockedValue { $0 = false }
                try? FileManager.default.removeItem(at: link)
                terminal.hangUp()
            }
        }
    }

    var path: String? { attached.withLockedValue { $0 } ? link.path : nil }

    func stop() async {
        pump.cancel()
        await pump.value
    }

    /// Carries bytes both ways until the board leaves: OUT on endpoint 0x01, IN on 0x81. One
    /// loop, since the connection runs its transfers one at a time; the short IN wait keeps
    /// the host's bytes from waiting long behind it.
    private static func carry(_ terminal: PseudoTerminal, _ connection: USBDeviceConnection) async {
        while !Task.isCancelled {
            do {
                let out = try await terminal.master.read(maximum: 4096, timeout: .milliseconds(2))
                if !out.isEmpty { _ = try await connection.bulk(endpoint: 0x01, data: out, timeout: .seconds(2)) }
                do {
                    let input = try await connection.bulk(endpoint: 0x81, length: 4096, timeout: .milliseconds(10))
                    if !input.isEmpty { try await terminal.master.write(input) }
                } catch LinkError.timedOut {}
            } catch {
                return
            }
        }
    }
}
