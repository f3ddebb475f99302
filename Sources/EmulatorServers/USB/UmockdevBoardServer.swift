import CUMockdev
import Dispatch
import Firmware
import Emulator
import Foundation
import Links
import NIOConcurrencyHelpers

/// Serves emulated boards as USB devices through umockdev: libusb, libudev, dfu-util or
/// lsusb in a process running under umockdev's preload (with `UMOCKDEV_DIR` set) see them
/// as real devices, in sysfs as the kernel shows them (root hubs, interfaces, attributes).
/// Each board answers the usbdevfs ioctls libusb issues; control URBs go to the board's
/// `usbControl`. A mode change removes the device and adds it back with the other product id
/// and a new device number, as a real board re-enumerates. Adds and removes reach udev
/// monitors in other processes (hotplug) only when this process runs under the preload too
/// (`UmockdevPreload`): umockdev sends the uevents only from a mock environment.
public final class UmockdevBoardServer: @unchecked Sendable {
    // The testbed and handler are GObjects used from umockdev's worker thread; all Swift
    // state is behind `state`.
    private let testbed: UnsafeMutablePointer<UMockdevTestbed>
    /// One handler serves every device node: it tells them apart by the node the client opened.
    private let handler: UnsafeMutablePointer<UMockdevIoctlBase>
    /// The testbed's GObject API is not thread-safe, and devices come and go from the test's
    /// thread, umockdev's ioctl thread (a hub switching a port) and timers (resets). Locking
    /// each call is not enough: whether a device is on the testbed and whether it should be
    /// must be decided in the same hold as the add or remove, or two of them both decide to
    /// remove (umockdev: "does not exist") or both to add (umockdev aborts: "already exists").
    /// So every add, remove and the bookkeeping of what is published happen in
    /// `reconcileLocked` with this lock held. Order: this lock, then `state`; never the other way,
    /// since the ioctl thread holds `state` without it.
    private let testbedLock = NSLock()
    private let state = NIOLockedValueBox(State())
    /// The boards' serial clock: listening mode's delays and YMODEM timeouts run on it, looked at
    /// whenever the host reads or writes the console endpoints.
    private let serialClock = Stopwatch(ContinuousClock())
    /// Behind `testbedLock`: the device nodes the handler listens on. A node stays attached
    /// once attached: a number a board leaves is the next device's later.
    private var attachedNodes: Set<String> = []
    /// Behind `testbedLock`: the buses whose root hub is on the testbed.
    private var rootHubs: Set<Int> = []

    struct State: @unchecked Sendable {
        var boards: [Served] = []
        /// URBs submitted and answered, waiting to be reaped, per client connection.
        var pending: [UInt: [PendingURB]] = [:]
        var transfers = 0
        /// Boards that stop answering: their URBs stay in flight until the host gives up.
        var unresponsive: Set<Int> = []
        var hubs: [ServedHub] = []
        /// Per bus.
        var numbers: [Int: DeviceNumbers] = [:]
        /// Boards on root ports, for placing the next one.
        var rootPortBoards = 0
    }

    struct ServedHub {
        var hub: EmulatedHub
        var bus: Int
        var devnum: Int
        var sysPath: String
        var location: String
        /// The other half of the same USB 3 hub, which shares each port's VBUS.
        var twin: Int?
    }

    struct Served {
        var model: BoardModel
        var bus: Int
        var sysPath: String
        /// The device number while the board is on the testbed (or being added), nil otherwise.
        var devnum: Int?
        /// The interface directories of the device on the testbed, removed before it.
        var interfacePaths: [String] = []
        /// Where its console's bytes go, as its descriptors say, while it is on the testbed.
        var console: USBDescriptors.ConsoleEndpoints?
        /// The product id of the device on the testbed now, nil while there is none. Written
        /// only with `testbedLock` held, in the same hold as the add or remove it records, so
        /// it never disagrees with the testbed for whoever decides.
        var lastProductID: UInt16?
        /// The boot the published device belongs to: a reset re-enumerates even in the same mode.
        var lastBootCount = 0
        /// The reset gap the board is off the bus for, by number: only that gap's timer brings
        /// it back, so a hub switch or another timer cannot cut the gap short or end a later one.
        var resetGap: Int?
        var resetGaps = 0
        /// The hub port the board is plugged into, when it is behind an emulated hub.
        var hub: Int?
        var port: Int?
    }

    struct PendingURB: @unchecked Sendable {
        var urb: UnsafeMutablePointer<UMockdevIoctlData>
        var status: Int32
        var data: [UInt8]
        var isIn: Bool
        /// Control URBs carry the 8-byte setup packet in front of their data.
        var dataOffset = 8
        /// A bulk IN on the console endpoint, waiting for the board to print: (board, capacity).
        var waitsForSerialOutput: (board: Int, capacity: Int)?
        /// Never answered (an unresponsive board) until the host discards it.
        var held = false
    }

    /// The testbed's root: what a client needs as `UMOCKDEV_DIR`.
    public let root: String

    /// The host controller every bus hangs off, as on a PC with one xHCI controller.
    static let controllerPath = "/devices/pci0000:00/0000:00:14.0"
    /// Linux's limit on a hub's ports (USB_MAXCHILDREN).
    static let maximumPorts = 31
    /// Root ports 1…4 of buses 1 and 2 hold emulated hubs; boards take bus 1's from 5 up, then
    /// the buses from 3 up, all their ports.
    static let firstBoardPort = 5

    public init() {
        testbed = umockdev_testbed_new()
        root = String(cString: umockdev_testbed_get_root_dir(testbed))
        handler = umockdev_ioctl_base_new()
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = otabench_connect_ioctl(handler, { handler, client, context in
            guard let client, let context else { return 0 }
            let server = Unmanaged<UmockdevBoardServer>.fromOpaque(context).takeUnretainedValue()
            return server.handle(client) ? 1 : 0
        }, context)
        testbedLock.withLock {
            // The controller and the two halves of its root hub, as any PC has them; `lsusb -t`
            // draws nothing without the root hubs, and libusb links devices to them.
            _ = try? addLocked(record: """
                P: \(Self.controllerPath)
                E: SUBSYSTEM=pci
                E: DRIVER=xhci_hcd
                E: PCI_SLOT_NAME=0000:00:14.0
                L: driver=../../../bus/pci/drivers/xhci_hcd


                """)
            try? addRootHubLocked(bus: 1)
            try? addRootHubLocked(bus: 2)
        }
    }

    deinit {
        g_object_unref(handler)
        g_object_unref(testbed)
    }

    /// The environment a client process needs to see the boards.
    public var clientEnvironment: [String: String] {
        ["UMOCKDEV_DIR": root, "LD_PRELOAD": UmockdevPreload.library]
    }

    /// Control transfers served so far.
    public var transfers: Int { state.withLockedValue { $0.transfers } }

    /// Adds a board on a root port of its own (bus 1 first) or on `port` of the emulated hub
    /// `hub` (an index from `addHub`); returns its index for `board(_:)`.
    @discardableResult
    public func serve(_ model: BoardModel, hub: Int? = nil, port: Int? = nil) throws -> Int {
        // Held from the first sight of the board in `state` to its first publication: a hub
        // switching its port meanwhile only changes the model, and publishes after us, if at all.
        try testbedLock.withLock { () throws -> Int in
            let index = try allocateBoard(model, hub: hub, port: port)
            let bus = state.withLockedValue { $0.boards[index].bus }
            if !rootHubs.contains(bus) { try addRootHubLocked(bus: bus) }
            try reconcileLocked(index)
            return index
        }
    }

    private func allocateBoard(_ model: BoardModel, hub: Int?, port: Int?) throws -> Int {
        try state.withLockedValue { state -> Int in
            var served: Served
            if let hub {
                guard state.hubs.indices.contains(hub), !state.hubs[hub].hub.superSpeed, let port,
                      (1...state.hubs[hub].hub.portCount).contains(port),
                      !state.boards.contains(where: { $0.hub == hub && $0.port == port })
                else { throw LinkError.other("no free USB 2 port \(port ?? 0) on emulated hub \(hub)") }
                let location = state.hubs[hub].location
                served = Served(model: model, bus: state.hubs[hub].bus, sysPath: state.hubs[hub].sysPath + "/\(location).\(port)")
                served.hub = hub
                served.port = port
                if !Self.portPowered(state, hub: hub, port: port) { served.model.powerOff() }
            } else {
                let (bus, rootPort) = Self.rootPort(forBoard: state.rootPortBoards)
                state.rootPortBoards += 1
                served = Served(model: model, bus: bus, sysPath: Self.rootHubPath(bus) + "/\(bus)-\(rootPort)")
            }
            state.boards.append(served)
            return state.boards.count - 1
        }
    }

    /// Where the `count`th board on a root port goes: bus 1's ports from 5 up, then each further
    /// USB 2 bus (3, 4, …; bus 2 is SuperSpeed) from port 1.
    static func rootPort(forBoard count: Int) -> (bus: Int, port: Int) {
        let onBusOne = maximumPorts - firstBoardPort + 1
        if count < onBusOne { return (1, firstBoardPort + count) }
        let beyond = count - onBusOne
        return (3 + beyond / maximumPorts, 1 + beyond % maximumPorts)
    }

    static func rootHubPath(_ bus: Int) -> String { controllerPath + "/usb\(bus)" }

    /// A root hub as Linux's xHCI driver shows it: 1d6b:0002 (USB 2) or 1d6b:0003 (bus 2,
    /// SuperSpeed), device number 1, bound to `usb`, its interface to `hub`.
    private func addRootHubLocked(bus: Int) throws {
        let superSpeed = bus == 2
        var release = utsname()
        uname(&release)
        let kernel = withUnsafeBytes(of: release.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = kernel.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) ?? 0 }
        // bcdDevice is the kernel's version, major and minor as two BCD bytes' worth of hex.
        let version = UInt16((numbers.first ?? 0) & 0xFF) << 8 | UInt16((numbers.dropFirst().first ?? 0) & 0xFF)
        let bcdVersion = UInt16(String(format: "%02d%02d", version >> 8, version & 0xFF), radix: 16) ?? 0
        let device: [UInt8] = [18, 1, 0x00, superSpeed ? 0x03 : 0x02, 9, 0, superSpeed ? 3 : 1, superSpeed ? 9 : 64, 0x6B, 0x1D,
                               superSpeed ? 3 : 2, 0, UInt8(bcdVersion & 0xFF), UInt8(bcdVersion >> 8), 3, 2, 1, 1]
        var configuration: [UInt8] = [9, 2, 0, 0, 1, 1, 0, 0xE0, 0, 9, 4, 0, 0, 1, 9, 0, 0, 0, 7, 5, 0x81, 3, 4, 0, 0x0C]
        if superSpeed { configuration += [6, 0x30, 0, 0, 2, 0] }  // SuperSpeed endpoint companion
        configuration[2] = UInt8(configuration.count)
        let ports = superSpeed ? 4 : Self.maximumPorts
        let record = USBSysfsDevice(sysPath: Self.rootHubPath(bus), bus: bus, devnum: 1, speed: superSpeed ? 5000 : 480,
                                    descriptors: device + configuration,
                                    strings: [1: "0000:00:14.0", 2: "xHCI Host Controller", 3: "Linux \(kernel) xhci-hcd"],
                                    isRootHub: true, maxchild: ports, interfaceDrivers: [0: "hub"])
        try attachLocked(node: record.node)
        try addLocked(record: record.text)
        rootHubs.insert(bus)
    }

    /// Adds an emulated hub on its own root port: bus 1 for a USB 2 hub, bus 2 for a
    /// SuperSpeed one. Returns its index for `serve(_:hub:port:)` and `hubLocation(_:)`.
    @discardableResult
    public func addHub(_ hub: EmulatedHub, twin: Int? = nil) throws -> Int {
        try testbedLock.withLock { () throws -> Int in try addHubLocked(hub, twin: twin) }
    }

    private func addHubLocked(_ hub: EmulatedHub, twin: Int?) throws -> Int {
        let (index, served) = try state.withLockedValue { state -> (Int, ServedHub) in
            let bus = hub.superSpeed ? 2 : 1
            // Root ports 1…4 hold hubs; boards on the root hub take ports from 5 up.
            let rootPort = state.hubs.filter { $0.bus == bus }.count + 1
            guard rootPort < Self.firstBoardPort else { throw LinkError.other("the emulated bus \(bus) takes four hubs at most") }
            guard let devnum = state.numbers[bus, default: DeviceNumbers()].take() else {
                throw LinkError.other("the emulated bus \(bus) has no device number left")
            }
            let served = ServedHub(hub: hub, bus: bus, devnum: devnum, sysPath: Self.rootHubPath(bus) + "/\(bus)-\(rootPort)",
                                   location: "\(bus)-\(rootPort)", twin: twin)
            state.hubs.append(served)
            let index = state.hubs.count - 1
            if let twin { state.hubs[twin].twin = index }
            return (index, served)
        }
        let record = USBSysfsDevice(sysPath: served.sysPath, bus: served.bus, devnum: served.devnum, speed: hub.superSpeed ? 5000 : 480,
                                    descriptors: hub.descriptors, maxchild: hub.portCount, interfaceDrivers: [0: "hub"])
        try attachLocked(node: record.node)
        // umockdev announces it (hotplug) as it adds it, when this process runs under the preload.
        try addLocked(record: record.text)
        return index
    }

    /// A USB 3 hub as Linux shows one: a USB 2 half on bus 1 (where full-speed boards plug in)
    /// and a SuperSpeed half on bus 2 at the same port path, sharing a Container ID. Returns the
    /// USB 2 half's index. `configure` sets faults on both halves.
    @discardableResult
    public func addUSB3Hub(ports: Int = 4, configure: (inout EmulatedHub) -> Void = { _ in }) throws -> Int {
        let containerID = (0..<16).map { _ in UInt8.random(in: 0...255) }
        var high = EmulatedHub(portCount: ports, containerID: containerID)
        var superSpeed = EmulatedHub(portCount: ports, superSpeed: true, containerID: containerID)
        configure(&high)
        configure(&superSpeed)
        let index = try addHub(high)
        try addHub(superSpeed, twin: index)
        return index
    }

    /// Where the hub is, as uhubctl's `-l` and the inventory's `power-hub` name it.
    public func hubLocation(_ index: Int) -> String { state.withLockedValue { $0.hubs[index].location } }

    /// The hub's state now (its port power bits).
    public func hub(_ index: Int) -> EmulatedHub { state.withLockedValue { $0.hubs[index].hub } }

    /// Whether the hub port's VBUS is on: either half of a USB 3 hub keeps it on.
    private static func portPowered(_ state: State, hub: Int, port: Int) -> Bool {
        let served = state.hubs[hub]
        return served.hub.suppliesPower(port) || (served.twin.map { state.hubs[$0].hub.suppliesPower(port) } ?? false)
    }

    /// Makes the handler answer `/dev/<node>`. With `testbedLock` held, before the device is
    /// added: libusb's own test notes a race otherwise.
    private func attachLocked(node: String) throws {
        guard !attachedNodes.contains(node) else { return }
        var error: UnsafeMutablePointer<GError>?
        guard umockdev_testbed_attach_ioctl(testbed, "/dev/" + node, handler, &error) != 0 else {
            throw LinkError.other("umockdev could not attach the ioctl handler: \(message(error))")
        }
        attachedNodes.insert(node)
    }

    /// Boards whose hub port lost or regained VBUS go off or boot, and leave or join USB.
    private func applyHubPower(_ hub: Int) {
        let changed = state.withLockedValue { state -> [Int] in
            let halves = Set([hub] + (state.hubs[hub].twin.map { [$0] } ?? []))
            var changed: [Int] = []
            for index in state.boards.indices {
                guard let boardHub = state.boards[index].hub, let port = state.boards[index].port, halves.contains(boardHub) else { continue }
                let powered = Self.portPowered(state, hub: boardHub, port: port)
                let isOff = state.boards[index].model.mode == .off
                if powered == isOff {
                    if powered { state.boards[index].model.powerOn() } else { state.boards[index].model.powerOff() }
                    changed.append(index)
                }
            }
            return changed
        }
        guard !changed.isEmpty else { return }
        testbedLock.withLock {
            for board in changed { _ = try? reconcileLocked(board) }
        }
    }

    /// Adds any device in umockdev's record format (a non-Particle device beside the boards, say).
    public func add(record: String) throws {
        try testbedLock.withLock { try addLocked(record: record) }
    }

    /// With `testbedLock` held.
    private func addLocked(record: String) throws {
        var error: UnsafeMutablePointer<GError>?
        guard umockdev_testbed_add_from_string(testbed, record, &error) != 0 else {
            throw LinkError.other("umockdev could not add the device: \(message(error))")
        }
    }

    /// Makes a board stop answering USB requests (a hung firmware, a bad cable): transfers
    /// stay in flight until the host times them out.
    public func setUnresponsive(_ index: Int, _ unresponsive: Bool) {
        state.withLockedValue { state in
            if unresponsive { state.unresponsive.insert(index) } else { state.unresponsive.remove(index) }
        }
    }

    /// The board's state now.
    public func board(_ index: Int) -> BoardModel { state.withLockedValue { $0.boards[index].model } }

    /// Where the board is in sysfs (below /sys) and its device node now (`bus/usb/001/007`);
    /// the node is nil while the board is off the bus.
    public func location(_ index: Int) -> (sysPath: String, node: String?) {
        state.withLockedValue { state in
            let served = state.boards[index]
            return (served.sysPath, served.devnum.map { String(format: "bus/usb/%03d/%03d", served.bus, $0) })
        }
    }

    /// Changes a board (power, faults…) and republishes it if its USB identity changed.
    public func update(_ index: Int, _ body: (inout BoardModel) -> Void) {
        state.withLockedValue { body(&$0.boards[index].model) }
        republishIfNeeded(index)
    }

    private func message(_ error: UnsafeMutablePointer<GError>?) -> String {
        error.map { String(cString: $0.pointee.message) } ?? "unknown error"
    }

    /// A board as the testbed should show it and as it shows it now, taken in one hold of
    /// `state`. Not the model itself: a copy held across the add would make the ioctl thread's
    /// next flash write copy the whole flash.
    private struct Presence: Sendable {
        var platform: Platform
        var mode: EmulatedMode
        var deviceID: String
        var bootCount: Int
        var shown: UInt16?
        var shownBoot: Int
        var mayAppear: Bool
        var sysPath: String
        var bus: Int
        var interfacePaths: [String]

        var wanted: UInt16? { mode.productID(platform) }
    }

    /// A board that reset leaves USB and comes back, as the other device when it changed mode.
    /// Back in the same mode it stays away for `resetGap`, so a host can see it go (a real
    /// board is off the bus for about a second).
    private func republishIfNeeded(_ index: Int) {
        testbedLock.withLock { _ = try? reconcileLocked(index) }
    }

    /// Makes the testbed show the board as it is now. With `testbedLock` held: every add and
    /// remove of a board happens here, so the check of what is published and the change to it
    /// are one step, and a second caller (the ioctl thread, a timer, a test) finds the work done
    /// instead of doing it again. It looks again after each change, as the board may have moved
    /// on (reset, lost power) while the testbed was being changed.
    private func reconcileLocked(_ index: Int) throws {
        while true {
            let presence = state.withLockedValue { state -> Presence in
                let served = state.boards[index]
                return Presence(platform: served.model.platform, mode: served.model.mode, deviceID: served.model.deviceID,
                                bootCount: served.model.bootCount, shown: served.lastProductID, shownBoot: served.lastBootCount,
                                mayAppear: served.resetGap == nil, sysPath: served.sysPath, bus: served.bus,
                                interfacePaths: served.interfacePaths)
            }
            if let shown = presence.shown {
                guard presence.wanted != shown || presence.bootCount != presence.shownBoot else { return }
                // The kernel's order: the interfaces' remove events, then the device's. umockdev
                // removes a device's directory with its children but unlinks only the device's
                // own /sys/bus/usb/devices entry, so the interfaces go first, one by one.
                for path in presence.interfacePaths.reversed() { umockdev_testbed_uevent(testbed, "/sys" + path, "remove") }
                umockdev_testbed_uevent(testbed, "/sys" + presence.sysPath, "remove")
                for path in presence.interfacePaths.reversed() { umockdev_testbed_remove_device(testbed, "/sys" + path) }
                umockdev_testbed_remove_device(testbed, "/sys" + presence.sysPath)
                // Reset, back in the same mode: a host must get to see it gone.
                let gap = presence.wanted == shown
                let number = state.withLockedValue { state -> Int in
                    if let devnum = state.boards[index].devnum { state.numbers[presence.bus, default: DeviceNumbers()].release(devnum) }
                    state.boards[index].devnum = nil
                    state.boards[index].interfacePaths = []
                    state.boards[index].console = nil
                    state.boards[index].lastProductID = nil
                    guard gap else { return 0 }
                    state.boards[index].resetGaps += 1
                    state.boards[index].resetGap = state.boards[index].resetGaps
                    return state.boards[index].resetGaps
                }
                if gap {
                    DispatchQueue.global().asyncAfter(deadline: .now() + Self.resetGap) { [weak self] in
                        self?.endResetGap(index, number)
                    }
                    return
                }
            } else {
                guard let product = presence.wanted, presence.mayAppear else { return }
                let descriptors = USBDescriptors(platform: presence.platform, mode: presence.mode, deviceID: presence.deviceID)
                // The number is the board's before the device appears: a client that opens the
                // node at once must reach this board.
                let devnum = try state.withLockedValue { state -> Int in
                    guard let devnum = state.numbers[presence.bus, default: DeviceNumbers()].take() else {
                        throw LinkError.other("the emulated bus \(presence.bus) has no device number left")
                    }
                    state.boards[index].devnum = devnum
                    state.boards[index].console = descriptors.console
                    return devnum
                }
                let record = USBSysfsDevice(sysPath: presence.sysPath, bus: presence.bus, devnum: devnum, speed: 12,
                                            descriptors: descriptors.device + descriptors.configuration, strings: descriptors.strings)
                do {
                    try attachLocked(node: record.node)
                    // umockdev announces each directory (hotplug) as it adds it, when this process
                    // runs under the preload.
                    try addLocked(record: record.text)
                } catch {
                    state.withLockedValue { state in
                        state.numbers[presence.bus, default: DeviceNumbers()].release(devnum)
                        state.boards[index].devnum = nil
                    }
                    throw error
                }
                state.withLockedValue {
                    $0.boards[index].lastProductID = product
                    $0.boards[index].lastBootCount = presence.bootCount
                    $0.boards[index].interfacePaths = record.interfacePaths
                }
            }
        }
    }

    /// The board may come back, if it still should be on USB by now.
    private func endResetGap(_ index: Int, _ number: Int) {
        testbedLock.withLock {
            let ours = state.withLockedValue { state -> Bool in
                guard state.boards[index].resetGap == number else { return false }
                state.boards[index].resetGap = nil
                return true
            }
            if ours { _ = try? reconcileLocked(index) }
        }
    }

    static let resetGap = DispatchTimeInterval.milliseconds(250)

    // MARK: ioctls (run on umockdev's worker thread)

    /// What a device node is: a board's, or (as a negative number, -1 - index) a hub's.
    private func index(of client: UnsafeMutablePointer<UMockdevIoctlClient>) -> Int? {
        guard let devnode = umockdev_ioctl_client_get_devnode(client).map({ String(cString: $0) }) else { return nil }
        return state.withLockedValue { state in
            if let hub = state.hubs.firstIndex(where: { String(format: "/dev/bus/usb/%03d/%03d", $0.bus, $0.devnum) == devnode }) {
                return -1 - hub
            }
            // Only the board that holds the number now: a node a board left answers as a gone device.
            return state.boards.firstIndex { served in
                served.devnum.map { String(format: "/dev/bus/usb/%03d/%03d", served.bus, $0) == devnode } ?? false
            }
        }
    }

    private func handle(_ client: UnsafeMutablePointer<UMockdevIoctlClient>) -> Bool {
        let request = umockdev_ioctl_client_get_request(client)
        guard (request >> 8) & 0xFF == UInt(UInt8(ascii: "U")), let argument = umockdev_ioctl_client_get_arg(client) else {
            umockdev_ioctl_client_complete(client, -1, ENOTTY)
            return true
        }
        guard let board = index(of: client) else {
            // A node whose device left (the board re-enumerated under another number, or lost
            // power): what usbdevfs answers then, and libusb maps to LIBUSB_ERROR_NO_DEVICE.
            umockdev_ioctl_client_complete(client, -1, ENODEV)
            return true
        }
        let clientKey = UInt(bitPattern: client)
        switch request & 0xFF {
        case 26:  // GET_CAPABILITIES: bulk continuation, no packet size limit, zero packet, reap after disconnect
            if let capabilities = umockdev_ioctl_data_resolve(argument, 0, 4, nil) {
                let value: UInt32 = 0x01 | 0x04 | 0x08 | 0x40
                withUnsafeBytes(of: value.littleEndian) { capabilities.pointee.data!.update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: 4) }
            }
            umockdev_ioctl_client_complete(client, 0, 0)
        case 8:  // GETDRIVER: no kernel driver bound
            umockdev_ioctl_client_complete(client, -1, ENODATA)
        case 4 where board < 0:  // a hub has one setting
            umockdev_ioctl_client_complete(client, 0, 0)
        case 10 where board < 0:
            submitToHub(argument, hub: -1 - board, client: clientKey)
            umockdev_ioctl_client_complete(client, 0, 0)
        case 4:  // SETINTERFACE: the alternate setting picks the DFU memory
            if let setting = umockdev_ioctl_data_resolve(argument, 0, 8, nil) {
                let alt = setting.pointee.data!.withMemoryRebound(to: UInt32.self, capacity: 2) { $0[1] }
                update(board) { _ = $0.dfuSelectAlternateSetting(UInt8(truncatingIfNeeded: alt)) }
            }
            umockdev_ioctl_client_complete(client, 0, 0)
        case 10:  // SUBMITURB
            submit(argument, board: board, client: clientKey)
            umockdev_ioctl_client_complete(client, 0, 0)
        case 13, 12:  // REAPURBNDELAY, REAPURB
            reap(argument, client: client, key: clientKey)
        case 11:  // DISCARDURB: the host gave up on a URB; it completes as cancelled
            // The argument is the URB's address in the client: the value the ioctl passed.
            let passed = argument.pointee.data.map { UInt(bitPattern: $0.withMemoryRebound(to: Int.self, capacity: 1) { $0.pointee }) }
            let found = state.withLockedValue { state -> Bool in
                guard let position = state.pending[clientKey]?.firstIndex(where: { $0.held && ($0.urb.pointee.client_addr == passed || $0.urb.pointee.client_addr == argument.pointee.client_addr) }) else { return false }
                state.pending[clientKey]![position].held = false
                state.pending[clientKey]![position].waitsForSerialOutput = nil
                state.pending[clientKey]![position].status = -Int32(ENOENT)
                state.pending[clientKey]![position].data = []
                return true
            }
            umockdev_ioctl_client_complete(client, found ? 0 : -1, found ? 0 : EINVAL)
        default:  // CLAIMINTERFACE, RELEASEINTERFACE, SETCONFIGURATION, CLEAR_HALT, RESET…
            umockdev_ioctl_client_complete(client, 0, 0)
        }
        return true
    }

    /// Answers a URB at once (libusb reaps the answer next): control transfers go to the
    /// board's `usbControl`; bulk transfers on the CDC data endpoints carry its serial console
    /// (data OUT is what the host types, data IN what the board printed: 0x01/0x81 on Gen 2 and
    /// nRF52840, 0x02/0x83 on RTL872x); the notification endpoint never has anything to say, so
    /// its URBs wait until the host gives up.
    private func submit(_ argument: UnsafeMutablePointer<UMockdevIoctlData>, board: Int, client: UInt) {
        guard let urb = umockdev_ioctl_data_resolve(argument, 0, gsize(otabench_urb_size()), nil) else { return }
        // Leave the resolved memory alone until the reap: complete() writes changes back at once.
        guard let header = urb.pointee.data else { return }
        let type = header[0]
        let endpoint = header[1]
        let length = Int(header.advanced(by: otabench_urb_offset_buffer_length()).withMemoryRebound(to: Int32.self, capacity: 1) { $0.pointee })
        if type == 3 || type == 1 {  // bulk, interrupt
            let isIn = endpoint & 0x80 != 0
            var pending = PendingURB(urb: urb, status: 0, data: [], isIn: isIn, dataOffset: 0)
            let (unresponsive, console) = state.withLockedValue { ($0.unresponsive.contains(board), $0.boards[board].console) }
            if unresponsive || type == 1 || console == nil || (isIn && endpoint != console?.dataIn) || (!isIn && endpoint != console?.dataOut) {
                pending.held = true
            } else if isIn {
                let now = serialClock.elapsed
                let output = state.withLockedValue { state -> [UInt8] in
                    state.boards[board].model.serialTick(at: now)
                    return state.boards[board].model.takeSerialOutput(maximum: length)
                }
                if output.isEmpty {
                    pending.held = true
                    pending.waitsForSerialOutput = (board, length)
                } else {
                    pending.data = output
                }
            } else if length > 0, let buffer = umockdev_ioctl_data_resolve(urb, gsize(otabench_urb_offset_buffer()), gsize(length), nil) {
                let bytes = Array(UnsafeBufferPointer(start: buffer.pointee.data, count: Int(buffer.pointee.data_len)))
                let now = serialClock.elapsed
                state.withLockedValue { $0.boards[board].model.serialInput(bytes, at: now) }
                pending.data = Array(repeating: 0, count: bytes.count)
            }
            _ = umockdev_ioctl_data_ref(urb)
            state.withLockedValue { $0.pending[client, default: []].append(pending) }
            // What came over the serial line can reset the board too (an image taken by YMODEM
            // in listening mode): it leaves USB then as after a control request.
            if !pending.held || pending.waitsForSerialOutput != nil { scheduleReenumerationIfNeeded(board) }
            return
        }
        var status: Int32 = -Int32(EPIPE)
        var reply: [UInt8] = []
        var isIn = false
        if type == 2, length >= 8, let buffer = umockdev_ioctl_data_resolve(urb, gsize(otabench_urb_offset_buffer()), gsize(length), nil) {
            let bytes: [UInt8] = Array(UnsafeBufferPointer(start: buffer.pointee.data, count: Int(buffer.pointee.data_len)))
            let value = UInt16(bytes[2]) | (UInt16(bytes[3]) << 8)
            let index = UInt16(bytes[4]) | (UInt16(bytes[5]) << 8)
            let wLength = UInt16(bytes[6]) | (UInt16(bytes[7]) << 8)
            let setup = ControlSetup(requestType: bytes[0], request: bytes[1], value: value, index: index, length: wLength)
            isIn = setup.requestType & 0x80 != 0
            if state.withLockedValue({ $0.unresponsive.contains(board) }) {
                _ = umockdev_ioctl_data_ref(urb)
                state.withLockedValue { $0.pending[client, default: []].append(PendingURB(urb: urb, status: 0, data: [], isIn: isIn, held: true)) }
                return
            }
            let answer = state.withLockedValue { state -> ControlReply? in
                state.transfers += 1
                return state.boards[board].model.usbControl(setup, data: Array(bytes[8...]))
            }
            switch answer {
            case .data(let data)?:
                status = 0
                reply = isIn ? data : Array(repeating: 0, count: Int(setup.length))
            case .stall?:
                status = -Int32(EPIPE)
            case nil:
                status = -Int32(ENODEV)
            }
            scheduleLeaveIfNeeded(board)
            scheduleReenumerationIfNeeded(board)
        }
        _ = umockdev_ioctl_data_ref(urb)
        state.withLockedValue { $0.pending[client, default: []].append(PendingURB(urb: urb, status: status, data: reply, isIn: isIn)) }
    }

    /// A hub answers its control URBs at once; its status-change endpoint never reports, so
    /// those URBs wait until the host gives up.
    private func submitToHub(_ argument: UnsafeMutablePointer<UMockdevIoctlData>, hub: Int, client: UInt) {
        guard let urb = umockdev_ioctl_data_resolve(argument, 0, gsize(otabench_urb_size()), nil), let header = urb.pointee.data else { return }
        let length = Int(header.advanced(by: otabench_urb_offset_buffer_length()).withMemoryRebound(to: Int32.self, capacity: 1) { $0.pointee })
        var pending = PendingURB(urb: urb, status: -Int32(EPIPE), data: [], isIn: header[1] & 0x80 != 0, dataOffset: 0, held: true)
        if header[0] == 2, length >= 8, let buffer = umockdev_ioctl_data_resolve(urb, gsize(otabench_urb_offset_buffer()), gsize(length), nil) {
            let bytes: [UInt8] = Array(UnsafeBufferPointer(start: buffer.pointee.data, count: Int(buffer.pointee.data_len)))
            let setup = ControlSetup(requestType: bytes[0], request: bytes[1], value: UInt16(bytes[2]) | UInt16(bytes[3]) << 8,
                                     index: UInt16(bytes[4]) | UInt16(bytes[5]) << 8, length: UInt16(bytes[6]) | UInt16(bytes[7]) << 8)
            let isIn = setup.requestType & 0x80 != 0
            let (answer, powerBefore, powerAfter) = state.withLockedValue { state -> (ControlReply, [Bool], [Bool]) in
                state.transfers += 1
                let before = state.hubs[hub].hub.portPower
                let boards = state.boards
                let answer = state.hubs[hub].hub.control(setup) { port in
                    boards.contains { $0.hub == hub && $0.port == port && $0.lastProductID != nil }
                }
                return (answer, before, state.hubs[hub].hub.portPower)
            }
            pending = PendingURB(urb: urb, status: 0, data: [], isIn: isIn)
            switch answer {
            case .data(let data): pending.data = isIn ? data : Array(repeating: 0, count: Int(setup.length))
            case .stall: pending.status = -Int32(EPIPE)
            }
            if powerBefore != powerAfter { applyHubPower(hub) }
        }
        _ = umockdev_ioctl_data_ref(urb)
        state.withLockedValue { $0.pending[client, default: []].append(pending) }
    }

    private func reap(_ argument: UnsafeMutablePointer<UMockdevIoctlData>, client: UnsafeMutablePointer<UMockdevIoctlClient>, key: UInt) {
        var ticked: Set<Int> = []
        defer { for board in ticked.sorted() { scheduleReenumerationIfNeeded(board) } }
        let next = state.withLockedValue { state -> PendingURB? in
            guard var queue = state.pending[key] else { return nil }
            // A console read that was waiting completes as soon as the board has printed something.
            for position in queue.indices where queue[position].held {
                guard let wait = queue[position].waitsForSerialOutput else { continue }
                ticked.insert(wait.board)
                state.boards[wait.board].model.serialTick(at: serialClock.elapsed)
                let output = state.boards[wait.board].model.takeSerialOutput(maximum: wait.capacity)
                if !output.isEmpty {
                    queue[position].data = output
                    queue[position].held = false
                    queue[position].waitsForSerialOutput = nil
                }
            }
            guard let position = queue.firstIndex(where: { !$0.held }) else {
                state.pending[key] = queue
                return nil
            }
            let first = queue.remove(at: position)
            state.pending[key] = queue
            return first
        }
        guard let next else {
            umockdev_ioctl_client_complete(client, -1, EAGAIN)
            return
        }
        let urb = next.urb
        urb.pointee.data!.advanced(by: otabench_urb_offset_status()).withMemoryRebound(to: Int32.self, capacity: 1) { $0.pointee = next.status }
        urb.pointee.data!.advanced(by: otabench_urb_offset_actual_length()).withMemoryRebound(to: Int32.self, capacity: 1) {
            $0.pointee = Int32(next.data.count)
        }
        if next.isIn, !next.data.isEmpty {
            let length = Int(urb.pointee.data!.advanced(by: otabench_urb_offset_buffer_length()).withMemoryRebound(to: Int32.self, capacity: 1) { $0.pointee })
            if let buffer = umockdev_ioctl_data_resolve(urb, gsize(otabench_urb_offset_buffer()), gsize(length), nil) {
                let count = min(next.data.count, Int(buffer.pointee.data_len) - next.dataOffset)
                next.data.withUnsafeBufferPointer { buffer.pointee.data!.advanced(by: next.dataOffset).update(from: $0.baseAddress!, count: count) }
            }
        }
        if let pointer = umockdev_ioctl_data_resolve(argument, 0, gsize(MemoryLayout<UnsafeRawPointer>.size), nil) {
            _ = umockdev_ioctl_data_set_ptr(pointer, 0, urb)
        }
        umockdev_ioctl_client_complete(client, 0, 0)
        umockdev_ioctl_data_unref(urb)
    }

    /// A request that reset the board (into DFU, say) is answered first; the board then leaves
    /// USB and comes back with its new product id, as a real one does after its status stage.
    private func scheduleReenumerationIfNeeded(_ board: Int) {
        let changed = state.withLockedValue { state -> Bool in
            let served = state.boards[board]
            return served.model.mode.productID(served.model.platform) != served.lastProductID
                || served.model.bootCount != served.lastBootCount
        }
        guard changed else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { [weak self] in
            self?.republishIfNeeded(board)
        }
    }

    /// The bootloader resets about 500 ms after delivering the manifest status (§2.6).
    private func scheduleLeaveIfNeeded(_ board: Int) {
        let scheduled = state.withLockedValue { $0.boards[board].model.mode == .dfu && $0.boards[board].model.dfu.resetScheduled }
        guard scheduled else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(500)) { [weak self] in
            self?.update(board) { $0.dfuCompleteLeave() }
        }
    }
}
