/// The device numbers of one bus, handed out as the kernel's `choose_devnum` does
/// (drivers/usb/core/hub.c): the first free number from the one after the last given, wrapping
/// from 127 to 1. The root hub holds 1. A board that re-enumerates therefore comes back under
/// another number (and another /dev/bus/usb node), as a real one does.
struct DeviceNumbers: Sendable {
    private var next = 2
    private var inUse: Set<Int> = [1]

    /// Nil when all 127 are taken.
    mutating func take() -> Int? {
        for candidate in Array(next...127) + Array(1..<next) where !inUse.contains(candidate) {
            inUse.insert(candidate)
            next = candidate >= 127 ? 1 : candidate + 1
            return candidate
        }
        return nil
    }

    mutating func release(_ number: Int) {
        inUse.remove(number)
    }
}
