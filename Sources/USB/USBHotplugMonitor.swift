import CUDev
import Dispatch
import Foundation

/// USB devices arriving and leaving, from libudev's monitor. The blocking poll runs on the
/// monitor's own queue, with a timeout.
public final class USBHotplugMonitor: @unchecked Sendable {
    public struct Event: Hashable, Sendable {
        public var action: String
        public var vendorID: UInt16?
        public var productID: UInt16?
        public var serialNumber: String?
        public var sysPath: String
    }

    // libudev objects are used only on `queue` after init.
    private let udev: OpaquePointer
    private let monitor: OpaquePointer
    private let queue = DispatchQueue(label: "otabench.usb.hotplug")

    public init() throws(USBError) {
        guard let udev = udev_new() else { throw USBError("udev_new", reason: "libudev did not start") }
        guard let monitor = udev_monitor_new_from_netlink(udev, "udev") else {
            udev_unref(udev)
            throw USBError("udev_monitor_new_from_netlink", reason: "no udev monitor")
        }
        udev_monitor_filter_add_match_subsystem_devtype(monitor, "usb", "usb_device")
        guard udev_monitor_enable_receiving(monitor) == 0 else {
            udev_monitor_unref(monitor)
            udev_unref(udev)
            throw USBError("udev_monitor_enable_receiving", reason: "cannot receive uevents")
        }
        self.udev = udev
        self.monitor = monitor
    }

    deinit {
        udev_monitor_unref(monitor)
        udev_unref(udev)
    }

    /// The next add or remove, or nil when none came within `timeout`.
    public func next(timeout: Duration) async -> Event? {
        await withCheckedContinuation { continuation in
            queue.async { [self] in
                var descriptor = pollfd(fd: udev_monitor_get_fd(monitor), events: Int16(POLLIN), revents: 0)
                let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
                guard poll(&descriptor, 1, milliseconds) > 0, let device = udev_monitor_receive_device(monitor) else {
                    continuation.resume(returning: nil)
                    return
                }
                defer { udev_device_unref(device) }
                func property(_ name: String) -> String? { udev_device_get_property_value(device, name).map { String(cString: $0) } }
                continuation.resume(returning: Event(
                    action: udev_device_get_action(device).map { String(cString: $0) } ?? "change",
                    vendorID: property("ID_VENDOR_ID").flatMap { UInt16($0, radix: 16) },
                    productID: property("ID_MODEL_ID").flatMap { UInt16($0, radix: 16) },
                    serialNumber: property("ID_SERIAL_SHORT"),
                    sysPath: udev_device_get_syspath(device).map { String(cString: $0) } ?? ""))
            }
        }
    }
}
