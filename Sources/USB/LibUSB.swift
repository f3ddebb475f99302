import CLibUSB
import CUDev

/// Facts about the USB stack otabench runs on: which libusb is linked, and whether
/// libusb and libudev can be brought up on this host.
public enum USBStack {
    public struct Version: Hashable, Sendable, CustomStringConvertible {
        public var major: Int
        public var minor: Int
        public var micro: Int

        public var description: String { "\(major).\(minor).\(micro)" }
    }

    /// The libusb the process linked against.
    public static var libusbVersion: Version {
        let version = libusb_get_version().pointee
        return Version(major: Int(version.major), minor: Int(version.minor), micro: Int(version.micro))
    }

    /// Brings a libusb context up and tears it down; false when the host has no usable USB
    /// subsystem (libusb's own answer, not a guess).
    public static func libusbInitializes() -> Bool {
        var context: OpaquePointer?
        guard libusb_init(&context) == 0 else { return false }
        libusb_exit(context)
        return true
    }

    /// Creates a libudev context; false when libudev cannot start.
    public static func udevInitializes() -> Bool {
        guard let udev = udev_new() else { return false }
        udev_unref(udev)
        return true
    }
}
