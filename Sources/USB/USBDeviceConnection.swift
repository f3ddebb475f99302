import Foundation
import CLibUSB
import Dispatch
import Links

/// An opened USB device and a `ControlPipe` over it. libusb's synchronous calls block, so
/// they run on this connection's own dispatch queue, never on the cooperative pool.
public final class USBDeviceConnection: ControlPipe, @unchecked Sendable {
    // libusb handles are used only on `queue` after init.
    private let context: OpaquePointer
    private let handle: OpaquePointer
    private let queue: DispatchQueue
    private let executor: DedicatedThreadExecutor
    public let device: USBDeviceDescription

    /// Opens the device discovery found.
    public init(_ device: USBDeviceDescription) throws(USBError) {
        var context: OpaquePointer?
        let status = libusb_init(&context)
        guard status == 0, let context else { throw USBError("libusb_init", libusb: status) }
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context, &list)
        guard count >= 0, let list else {
            libusb_exit(context)
            throw USBError("libusb_get_device_list", libusb: Int32(count))
        }
        defer { libusb_free_device_list(list, 1) }
        var opened: OpaquePointer?
        var openStatus: Int32 = Int32(LIBUSB_ERROR_NOT_FOUND.rawValue)
        for index in 0..<Int(count) {
            guard let candidate = list[index], libusb_get_bus_number(candidate) == device.bus,
                  libusb_get_device_address(candidate) == device.address
            else { continue }
            openStatus = libusb_open(candidate, &opened)
            break
        }
        guard openStatus == 0, let opened else {
            libusb_exit(context)
            throw USBError("opening \(device)", libusb: openStatus)
        }
        self.context = context
        self.handle = opened
        self.device = device
        self.queue = DispatchQueue(label: "otabench.usb.\(device.bus).\(device.address)")
        self.executor = DedicatedThreadExecutor(name: "otabench.usb.\(device.bus).\(device.address)")
    }

    deinit {
        executor.stop()
        libusb_close(handle)
        libusb_exit(context)
    }

    /// Runs `body` on this connection's own thread: its transfers then call libusb in line,
    /// without a thread hop each. For long exchanges such as a DfuSe download.
    public func session<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(executor) { try await body() }
    }

    public func claimInterface(_ number: Int32) async throws {
        try await run("claiming interface \(number)") { libusb_claim_interface($0, number) }
    }

    public func setAlternateSetting(interface: Int32, alternate: Int32) async throws {
        try await run("selecting alternate setting \(alternate)") { libusb_set_interface_alt_setting($0, interface, alternate) }
    }

    /// A string descriptor, read over the wire.
    public func string(at index: UInt8) async throws -> String {
        let bytes: [UInt8] = try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                var buffer = [UInt8](repeating: 0, count: 256)
                let length = libusb_get_string_descriptor_ascii(self.handle, index, &buffer, Int32(buffer.count))
                if length < 0 { continuation.resume(throwing: Self.linkError(length, "reading string \(index)")) }
                else { continuation.resume(returning: Array(buffer[0..<Int(length)])) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func controlIn(_ setup: ControlSetup, timeout: Duration) async throws -> [UInt8] {
        try await transfer(setup, data: [UInt8](repeating: 0, count: Int(setup.length)), timeout: timeout)
    }

    public func controlOut(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws {
        var outgoing = setup
        outgoing.length = UInt16(data.count)
        _ = try await transfer(outgoing, data: data, timeout: timeout)
    }

    /// A bulk transfer: OUT when `endpoint` has bit 7 clear (sends `data`), IN otherwise
    /// (reads up to `length` bytes). Returns what was read, or for OUT the bytes not sent.
    public func bulk(endpoint: UInt8, data: [UInt8] = [], length: Int = 0, timeout: Duration) async throws -> [UInt8] {
        try await endpointTransfer(endpoint: endpoint, data: data, length: length, timeout: timeout, interrupt: false)
    }

    /// An interrupt transfer, like `bulk`.
    public func interrupt(endpoint: UInt8, data: [UInt8] = [], length: Int = 0, timeout: Duration) async throws -> [UInt8] {
        try await endpointTransfer(endpoint: endpoint, data: data, length: length, timeout: timeout, interrupt: true)
    }

    private func endpointTransfer(endpoint: UInt8, data: [UInt8], length: Int, timeout: Duration, interrupt: Bool) async throws -> [UInt8] {
        let milliseconds = UInt32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let isIn = endpoint & 0x80 != 0
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                var buffer = isIn ? [UInt8](repeating: 0, count: length) : data
                var transferred: Int32 = 0
                let status = buffer.withUnsafeMutableBufferPointer { pointer in
                    interrupt
                        ? libusb_interrupt_transfer(self.handle, endpoint, pointer.baseAddress, Int32(pointer.count), &transferred, milliseconds)
                        : libusb_bulk_transfer(self.handle, endpoint, pointer.baseAddress, Int32(pointer.count), &transferred, milliseconds)
                }
                if status < 0 {
                    continuation.resume(throwing: Self.linkError(status, "\(interrupt ? "interrupt" : "bulk") transfer on endpoint \(String(format: "%02x", endpoint))"))
                } else {
                    continuation.resume(returning: isIn ? Array(buffer.prefix(Int(transferred))) : Array(data.dropFirst(Int(transferred))))
                }
            }
        }
    }

    private func transfer(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws -> [UInt8] {
        let milliseconds = UInt32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        // In a session the caller already runs on this connection's thread: call libusb in line.
        if executor.isCurrent { return try controlTransfer(setup, data: data, milliseconds: milliseconds) }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                continuation.resume(with: Result { try self.controlTransfer(setup, data: data, milliseconds: milliseconds) })
            }
        }
    }

    private func controlTransfer(_ setup: ControlSetup, data: [UInt8], milliseconds: UInt32) throws -> [UInt8] {
        var buffer = data
        let result = buffer.withUnsafeMutableBufferPointer { pointer in
            libusb_control_transfer(handle, setup.requestType, setup.request, setup.value, setup.index,
                                    pointer.baseAddress, setup.length, milliseconds)
        }
        guard result >= 0 else {
            throw Self.linkError(result, "control transfer \(String(format: "%02x/%02x", setup.requestType, setup.request))")
        }
        return Array(buffer.prefix(Int(result)))
    }

    private func run(_ operation: String, _ body: @escaping @Sendable (OpaquePointer) -> Int32) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { [self] in
                let status = body(self.handle)
                if status < 0 { continuation.resume(throwing: Self.linkError(status, operation)) } else { continuation.resume() }
            }
        }
    }

    static func linkError(_ status: Int32, _ operation: String) -> LinkError {
        switch status {
        case LIBUSB_ERROR_PIPE.rawValue: .stalled
        case LIBUSB_ERROR_TIMEOUT.rawValue: .timedOut
        case LIBUSB_ERROR_NO_DEVICE.rawValue: .disconnected
        default: .other("\(operation): \(String(cString: libusb_error_name(status)))")
        }
    }
}
