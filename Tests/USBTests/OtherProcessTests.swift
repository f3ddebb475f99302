import Foundation
import TestSupport
import Testing

/// `otabench emulate --usb` in a process of its own, seen by tools nobody here wrote, each in a
/// process of its own under umockdev's preload: lsusb (sysfs and descriptors), a udev monitor and a
/// long-running particle-usb (hotplug), particle-usb's control requests, dfu-util. What a
/// developer sees running them against the emulator in another shell.
extension EmulatedUSBTests {
    /// Runs of spaces as one, so lsusb's column alignment does not matter to a check.
    static func squeezed(_ text: String) -> String {
        text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
            .joined(separator: "\n")
    }

    @Test("lsusb lists the served boards by sysfs: whole names, root hubs, bcdDevice per family")
    func lsusbListing() async throws {
        let server = try await EmulateProcess.start(["--platform", "boron", "--platform", "p2", "--platform", "photon"])
        defer { server.stop() }
        let listing = try await server.run("/usr/bin/lsusb", [])
        #expect(listing.status == 0, "\(listing.errors)")
        let lines = listing.output.split(separator: "\n").map(String.init)
        // The kernel ends each sysfs value in a newline, which lsusb cuts: without it, "Particl".
        #expect(lines.contains { $0.hasSuffix("ID 2b04:c00d Particle Boron CDC Mode") }, "\(listing.output)")
        #expect(lines.contains { $0.hasSuffix("ID 2b04:c020 Particle P2") }, "\(listing.output)")
        #expect(lines.contains { $0.hasSuffix("ID 2b04:c006 Particle Photon") }, "\(listing.output)")
        #expect(lines.contains { $0.hasPrefix("Bus 001 Device 001: ID 1d6b:0002") }, "\(listing.output)")
        #expect(lines.contains { $0.hasPrefix("Bus 002 Device 001: ID 1d6b:0003") }, "\(listing.output)")
        // Boards get device numbers from 2 up, as the kernel hands them out.
        #expect(lines.filter { $0.contains("ID 2b04:") }.allSatisfy { !$0.hasPrefix("Bus 001 Device 001") })
        let boron = try #require(server.deviceID("boron"))
        let root = try #require(try FileManager.default.contentsOfDirectory(atPath: server.directory + "/sys/bus/usb/devices").first { name in
            (try? String(contentsOfFile: server.directory + "/sys/bus/usb/devices/\(name)/serial", encoding: .utf8)) == boron + "\n"
        })
        let folder = server.directory + "/sys/bus/usb/devices/\(root)/"
        func attribute(_ name: String) -> String? { try? String(contentsOfFile: folder + name, encoding: .utf8) }
        #expect(attribute("bcdDevice") == "0102\n")
        #expect(attribute("version") == " 2.00\n")
        #expect(attribute("bDeviceClass") == "ef\n")
        #expect(attribute("bNumInterfaces") == " 3\n")
        #expect(attribute("bmAttributes") == "c0\n")
        #expect(attribute("bMaxPower") == "500mA\n")
        #expect(attribute("maxchild") == "0\n")
        #expect(attribute("configuration") == "")
        #expect(attribute("product") == "Boron CDC Mode\n")
    }

    @Test("lsusb -t draws the tree: root hubs, each board's interfaces under its port")
    func lsusbTree() async throws {
        let server = try await EmulateProcess.start(["--platform", "boron", "--platform", "p2"])
        defer { server.stop() }
        let tree = try await server.run("/usr/bin/lsusb", ["-t"])
        #expect(tree.status == 0, "\(tree.errors)")
        // A missing attribute prints a perror line on stderr.
        #expect(tree.errors.isEmpty, "\(tree.errors)")
        let text = Self.squeezed(tree.output)
        #expect(text.contains("/: Bus 01.Port 1: Dev 1, Class=root_hub, Driver=xhci_hcd/31p, 480M"), "\(tree.output)")
        #expect(text.contains("/: Bus 02.Port 1: Dev 1, Class=root_hub, Driver=xhci_hcd/4p, 5000M"), "\(tree.output)")
        // The Boron on root port 5, the P2 on 6, three interfaces each, at full speed. (The Class
        // column is hwdb's name for the class: empty on a machine without hwdb.bin.)
        for port in [5, 6] {
            for interface in 0..<3 {
                #expect(text.split(separator: "\n").contains { $0.contains("|__ Port \(port): Dev ") && $0.contains(", If \(interface), ") && $0.hasSuffix(", 12M") },
                        "port \(port) interface \(interface): \(tree.output)")
            }
        }
        // The classes lsusb -t names come from each interface's directory: CDC (in the IAD), CDC
        // data and Particle's control interface, in each family's order.
        func interfaceClass(_ name: String) -> String? {
            try? String(contentsOfFile: server.directory + "/sys/bus/usb/devices/\(name)/bInterfaceClass", encoding: .utf8)
        }
        #expect(["1-5:1.0", "1-5:1.1", "1-5:1.2"].map(interfaceClass) == ["02\n", "0a\n", "ff\n"])
        #expect(["1-6:1.0", "1-6:1.1", "1-6:1.2"].map(interfaceClass) == ["ff\n", "02\n", "0a\n"])
    }

    @Test("lsusb -v reads Device OS's descriptors and strings: IAD, CDC functional descriptors, control interface; DFU memories")
    func lsusbVerbose() async throws {
        let server = try await EmulateProcess.start(["--platform", "boron", "--platform", "p2"])
        defer { server.stop() }
        let boron = Self.squeezed(try await server.run("/usr/bin/lsusb", ["-v", "-d", "2b04:c00d"]).output)
        for line in ["bcdDevice 1.02", "bDeviceClass 239", "iManufacturer 1 Particle", "iProduct 2 Boron CDC Mode",
                     "iSerial 3 \(try #require(server.deviceID("boron")))", "bNumInterfaces 3", "Self Powered", "MaxPower 500mA",
                     "Interface Association:", "bFunctionClass 2", "CDC Header:", "CDC Call Management:", "CDC ACM:",
                     "CDC Union:", "bEndpointAddress 0x82 EP 2 IN", "bEndpointAddress 0x81 EP 1 IN", "bEndpointAddress 0x01 EP 1 OUT",
                     "bInterfaceClass 255", "iInterface 5 Boron Control Interface"] {
            #expect(boron.contains(line), "\(line): \(boron)")
        }
        let p2 = Self.squeezed(try await server.run("/usr/bin/lsusb", ["-v", "-d", "2b04:c020"]).output)
        for line in ["bcdDevice 2.51", "iProduct 2 P2", "iConfiguration 4 P2", "iInterface 5 P2 Control Interface", "iFunction 6 P2 USB Serial",
                     "bEndpointAddress 0x02 EP 2 OUT", "bEndpointAddress 0x83 EP 3 IN", "bEndpointAddress 0x81 EP 1 IN"] {
            #expect(p2.contains(line), "\(line): \(p2)")
        }
        // In DFU: the bootloader's descriptors, its memories' strings from 6.
        let boronID = try #require(server.deviceID("boron"))
        try #require(try await server.run(EmulateProcess.executable.path, ["reset", boronID, "--dfu"]).status == 0)
        var dfu = ""
        let deadline = ContinuousClock.now + .seconds(20)
        while !dfu.contains("Device Firmware Upgrade"), ContinuousClock.now < deadline {
            dfu = Self.squeezed(try await server.run("/usr/bin/lsusb", ["-v", "-d", "2b04:d00d"]).output)
        }
        for line in ["bcdDevice 2.51", "bDeviceClass 0", "iProduct 2 Boron DFU Mode", "iConfiguration 4 Boron DFU Mode", "MaxPower 100mA",
                     "iInterface 6 @Internal Flash /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka",
                     "iInterface 8 @External Flash /0x80000000/1024*004Kg", "Device Firmware Upgrade Interface Descriptor:",
                     "wTransferSize 4096 bytes", "bcdDFUVersion 1.1a"] {
            #expect(dfu.contains(line), "\(line): \(dfu)")
        }
    }

    /// A udev monitor in a process of its own (libudev through Python's ctypes): prints each
    /// usb_device event as "ACTION DEVPATH PRODUCT DEVNUM" and ends at the first "add" whose
    /// PRODUCT starts with argv[2], or after argv[1] seconds.
    static let udevMonitor = """
        import ctypes, select, sys, time
        u = ctypes.CDLL("libudev.so.1")
        p = ctypes.c_void_p
        for name, result, arguments in [("udev_new", p, []), ("udev_monitor_new_from_netlink", p, [p, ctypes.c_char_p]),
                ("udev_monitor_filter_add_match_subsystem_devtype", ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_char_p]),
                ("udev_monitor_enable_receiving", ctypes.c_int, [p]), ("udev_monitor_get_fd", ctypes.c_int, [p]),
                ("udev_monitor_receive_device", p, [p]), ("udev_device_get_action", ctypes.c_char_p, [p]),
                ("udev_device_get_devpath", ctypes.c_char_p, [p]), ("udev_device_get_property_value", ctypes.c_char_p, [p, ctypes.c_char_p]),
                ("udev_device_unref", p, [p])]:
            getattr(u, name).restype = result
            getattr(u, name).argtypes = arguments
        monitor = u.udev_monitor_new_from_netlink(u.udev_new(), b"udev")
        u.udev_monitor_filter_add_match_subsystem_devtype(monitor, b"usb", b"usb_device")
        u.udev_monitor_enable_receiving(monitor)
        fd = u.udev_monitor_get_fd(monitor)
        deadline = time.time() + float(sys.argv[1])
        while time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
            if not ready:
                continue
            device = u.udev_monitor_receive_device(monitor)
            if not device:
                continue
            fields = [u.udev_device_get_action(device), u.udev_device_get_devpath(device),
                      u.udev_device_get_property_value(device, b"PRODUCT"), u.udev_device_get_property_value(device, b"DEVNUM")]
            line = " ".join((field or b"-").decode() for field in fields)
            print(line, flush=True)
            u.udev_device_unref(device)
            if line.startswith("add ") and line.split(" ")[2].startswith(sys.argv[2]):
                break
        """

    @Test("Boards come and go for other processes: a udev monitor hears the re-enumeration; the device number changes")
    func hotplugReachesOtherProcesses() async throws {
        let server = try await EmulateProcess.start(["--platform", "argon"])
        defer { server.stop() }
        let argon = try #require(server.deviceID("argon"))
        let before = try await server.run("/usr/bin/lsusb", ["-d", "2b04:c00c"]).output
        // A monitor that runs across the reset, in its own process, until it hears the DFU board.
        async let heard = server.run("/usr/bin/python3", ["-c", Self.udevMonitor, "20", "2b04/d00c/"], timeout: .seconds(30))
        // It must listen before the board goes: its socket in the testbed accepts then (a gone
        // client's refuses).
        let monitorUp = ContinuousClock.now + .seconds(10)
        while server.listeningMonitors() == 0, ContinuousClock.now < monitorUp { try await Task.sleep(for: .milliseconds(20)) }
        try #require(server.listeningMonitors() > 0, "the udev monitor never listened")
        let reset = try await server.run(EmulateProcess.executable.path, ["reset", argon, "--dfu"])
        #expect(reset.status == 0, "\(reset.errors)")
        let events = try await heard.output.split(separator: "\n").map(String.init)
        #expect(events.contains { $0.hasPrefix("remove /devices/pci0000:00/0000:00:14.0/usb1/1-5 2b04/c00c/102 ") }, "\(events)")
        let added = try #require(events.first { $0.hasPrefix("add /devices/pci0000:00/0000:00:14.0/usb1/1-5 2b04/d00c/251 ") }, "\(events)")
        let after = try await server.run("/usr/bin/lsusb", ["-d", "2b04:d00c"]).output
        let number: (String) -> String? = { $0.split(separator: " ").dropFirst(3).first.map { String($0.dropLast()) } }
        #expect(number(before) != nil && number(after) != nil && number(before) != number(after), "\(before) / \(after)")
        // The uevent's DEVNUM is the new number too.
        #expect(added.hasSuffix(" " + (number(after) ?? "?")), "\(added) / \(after)")
    }

    @Test("A long-running particle-usb sees the board leave and come back: its own enterDfuMode(), reset out of DFU, node-usb attach/detach",
          .enabled(if: ParticlePeers.enabled))
    func particleUSBHotplug() async throws {
        let server = try await EmulateProcess.start(["--platform", "boron"])
        defer { server.stop() }
        let boron = try #require(server.deviceID("boron"))
        let run = try await ParticlePeers.run(ParticlePeers.script("usb-hotplug.js"), [boron, "30"], environment: server.clientEnvironment,
                                              timeout: .seconds(90))
        #expect(run.status == 0, "\(run.standardError)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data((run.lines.last ?? "").utf8)) as? [String: Any], "\(run.standardOutput)")
        #expect(result["dfu"] as? Bool == true, "\(result)")
        #expect(result["back"] as? Bool == true, "\(result)")
        let events = (result["events"] as? [[String: Any]] ?? []).map { "\($0["action"] ?? "")-\(String(format: "%04x", ($0["productId"] as? Int) ?? 0))" }
        for expected in ["detach-c00d", "attach-d00d", "detach-d00d", "attach-c00d"] {
            #expect(events.contains(expected), "\(expected): \(events)")
        }
    }

    @Test("particle-usb's queries answer as Device OS 5.8 does per platform; Device OS 1.5 on a Photon", .enabled(if: ParticlePeers.enabled))
    func particleUSBQueries() async throws {
        let server = try await EmulateProcess.start(["--platform", "boron", "--platform", "argon", "--platform", "p2", "--platform", "photon"])
        defer { server.stop() }
        func answers(_ name: String) async throws -> [String: Any] {
            let id = try #require(server.deviceID(name))
            let run = try await ParticlePeers.run(ParticlePeers.script("usb-queries.js"), [id], environment: server.clientEnvironment)
            #expect(run.status == 0, "\(name): \(run.standardError)")
            return try #require(try JSONSerialization.jsonObject(with: Data((run.lines.last ?? "{}").utf8)) as? [String: Any], "\(run.standardOutput)")
        }
        func ok(_ answers: [String: Any], _ key: String) -> Any? { (answers[key] as? [String: Any])?["ok"] }
        func refused(_ answers: [String: Any], _ key: String) -> Int? { ((answers[key] as? [String: Any])?["result"] as? NSNumber)?.intValue }
        func interfaces(_ answers: [String: Any]) -> [String] {
            (ok(answers, "interfaces") as? [[String: Any]] ?? []).map { "\($0["index"] ?? "")/\($0["name"] ?? "")/\($0["type"] ?? "")" }
        }
        let notSupported = -120
        for name in ["boron", "argon", "p2", "photon"] {
            let answers = try await answers(name)
            #expect(ok(answers, "mode") as? String == "NORMAL", "\(name): \(answers)")
            #expect(ok(answers, "cloud") as? String == "DISCONNECTED", "\(name): \(answers)")
            // Protection arrived in Device OS 6.1.0.
            #expect(refused(answers, "protection") == notSupported, "\(name): \(answers)")
            if name == "photon" {
                #expect(refused(answers, "assetInfo") == notSupported, "\(answers)")
                #expect(refused(answers, "interfaces") == notSupported, "\(answers)")
                #expect(refused(answers, "iccid") == notSupported, "\(answers)")
                continue
            }
            let assets = ok(answers, "assetInfo") as? [String: Any]
            #expect((assets?["available"] as? [Any])?.isEmpty == true && (assets?["required"] as? [Any])?.isEmpty == true, "\(name): \(answers)")
            if name == "boron" {
                #expect(interfaces(answers) == ["1/lo0/LOOPBACK", "4/pp3/PPP"], "\(answers)")
                let iccid = try #require(ok(answers, "iccid") as? String, "\(answers)")
                #expect(iccid.count == 20 && iccid.hasPrefix("89") && iccid.allSatisfy(\.isNumber), "\(iccid)")
            } else {
                #expect(interfaces(answers) == ["1/lo0/LOOPBACK", "4/wl3/WIFI"], "\(name): \(answers)")
                #expect(refused(answers, "iccid") == notSupported, "\(name): \(answers)")
            }
        }
    }

    @Test("dfu-util against emulate --usb in another process: lists the memories from the bootloader's strings, writes and reads back")
    func dfuUtilOtherProcess() async throws {
        let server = try await EmulateProcess.start(["--platform", "boron", "--dfu"])
        defer { server.stop() }
        let boron = try #require(server.deviceID("boron"))
        let listed = try await server.run("/usr/bin/dfu-util", ["-l"])
        #expect(listed.output.contains("[2b04:d00d]") && listed.output.contains("serial=\"\(boron)\""), "\(listed.output)")
        #expect(listed.output.contains("alt=2, name=\"@External Flash   /0x80000000/1024*004Kg\""), "\(listed.output)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("otabench-dfu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try Data(image).write(to: folder.appendingPathComponent("in.bin"))
        let written = try await server.run("/usr/bin/dfu-util", ["-d", "2b04:d00d", "-a", "2", "-s", "0x80100000", "-D", folder.appendingPathComponent("in.bin").path])
        #expect(written.status == 0, "\(written.output) \(written.errors)")
        let read = try await server.run("/usr/bin/dfu-util", ["-d", "2b04:d00d", "-a", "2", "-s", "0x80100000:8192", "-U", folder.appendingPathComponent("out.bin").path])
        #expect(read.status == 0, "\(read.output) \(read.errors)")
        #expect((try? Data(contentsOf: folder.appendingPathComponent("out.bin"))).map([UInt8].init) == image)
    }
}

/// PyPI's pyusb (on the system libusb) in a process of its own: a USB host of Python's, reading
/// the descriptors as a driver does and speaking Particle's control-request transport with our
/// code nowhere on its side (Tests/TestSupport/Peers/usb-pyusb.py).
extension EmulatedUSBTests {
    static let pyusbScript = Fixtures.repositoryRoot.appendingPathComponent("Tests/TestSupport/Peers/usb-pyusb.py").path

    /// Each board the script found, by serial number.
    static func pyusbBoards(_ server: EmulateProcess) async throws -> [String: [String: Any]] {
        // The python3 Scripts/setup installed pyusb for (the first on this PATH), by its own
        // path: the clients' environment has only /usr/bin and /bin on theirs.
        let probe = try await ToolProcess.run("/usr/bin/env", ["python3", "-c", "import usb.core, sys; print(sys.executable)"])
        try #require(probe.status == 0, "python3 lacks pyusb: run Scripts/setup (\(probe.output))")
        let python = probe.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let run = try await server.run(python, [pyusbScript])
        #expect(run.status == 0, "usb-pyusb.py: \(run.errors)")
        var boards: [String: [String: Any]] = [:]
        for line in run.output.split(separator: "\n") {
            let board = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            boards[board["serial"] as? String ?? ""] = board
        }
        return boards
    }

    static func numbers(_ value: Any?) -> [Int] { (value as? [NSNumber] ?? []).map(\.intValue) }

    @Test("pyusb reads the boards as Device OS presents them and asks them, by Particle's vendor requests, for their id and version")
    func pyusbNormalMode() async throws {
        let server = try await EmulateProcess.start(["--platform", "boron", "--platform", "p2", "--platform", "photon"])
        defer { server.stop() }
        let boards = try await Self.pyusbBoards(server)
        for (name, product, version, release) in [("boron", 0xc00d, 0x0102, "5.8.0"), ("p2", 0xc020, 0x0251, "5.8.0"), ("photon", 0xc006, 0x0250, "1.5.2")] {
            let id = try #require(server.deviceID(name))
            let board = try #require(boards[id], "\(name) not found by pyusb: \(boards.keys)")
            #expect(board["vendor"] as? Int == 0x2b04 && board["product"] as? Int == product, "\(name): \(board)")
            #expect(board["bcdDevice"] as? Int == version, "\(name): \(board)")
            #expect(board["manufacturer"] as? String == "Particle", "\(name): \(board)")
            #expect(board["rawDeviceID"] as? String == id, "\(name): \(board)")
            #expect(board["deviceID"] as? String == id, "\(name): \(board)")
            #expect(board["rawSystemVersion"] as? String == release, "\(name): \(board)")
            #expect(board["systemVersion"] as? String == release, "\(name): \(board)")
            #expect(board["protectionResult"] as? Int == -120, "before 6.1.0, not supported: \(name): \(board)")
        }
        let boronID = try #require(server.deviceID("boron"))
        let boron = try #require(boards[boronID])
        #expect(boron["name"] as? String == "Boron CDC Mode")
        #expect(Self.numbers(boron["class"]) == [0xef, 2, 1], "\(boron)")
        // The interface association before interface 0 lands in the configuration's extra bytes.
        let configuration = try #require(boron["configuration"] as? [String: Any])
        let association = (configuration["extra"] as? [[NSNumber]] ?? []).map { $0.map(\.intValue) }
        #expect(association.contains { $0.count == 8 && $0[1] == 0x0b && Array($0[2...6]) == [0, 2, 2, 2, 1] }, "\(configuration)")
        let interfaces = try #require(boron["interfaces"] as? [[String: Any]])
        let classes = interfaces.map { Self.numbers($0["class"]) }
        #expect(classes.contains([2, 2, 1]) && classes.contains([10, 0, 0]) && classes.contains([255, 255, 255]), "\(classes)")
        let control = try #require(interfaces.first { Self.numbers($0["class"]) == [2, 2, 1] })
        // CDC header, call management, ACM, union: what the Linux cdc_acm driver binds by.
        let functional = (control["extra"] as? [[NSNumber]] ?? []).map { $0.map(\.intValue) }.filter { $0.count >= 3 && $0[1] == 0x24 }.map { $0[2] }
        #expect(functional == [0, 1, 2, 6], "\(control)")
        #expect(interfaces.contains { $0["name"] as? String == "Boron Control Interface" }, "\(interfaces)")
    }

    @Test("emulate --device-os 6.2.0: the board reports 6.2.0 and answers the protection request, which came in 6.1.0")
    func pyusbDeviceOS6() async throws {
        let server = try await EmulateProcess.start(["--platform", "boron", "--platform", "argon", "--device-os", "6.2.0"])
        defer { server.stop() }
        let boards = try await Self.pyusbBoards(server)
        for name in ["boron", "argon"] {
            let id = try #require(server.deviceID(name))
            let board = try #require(boards[id], "\(name): \(boards.keys)")
            #expect(board["rawSystemVersion"] as? String == "6.2.0" && board["systemVersion"] as? String == "6.2.0", "\(name): \(board)")
            #expect(board["protectionResult"] as? Int == 0, "\(name): \(board)")
        }
        let photon = try await ToolProcess.run(EmulateProcess.executable.path, ["emulate", "--usb", "--platform", "photon", "--device-os", "6.2.0"],
                                               timeout: .seconds(60))
        #expect(photon.status != 0 && photon.errors.contains("Device OS 2.x was its last"), "\(photon.output) \(photon.errors)")
    }

    @Test("pyusb reads a board in DFU mode: the bootloader's functional descriptor and DFU_GETSTATUS")
    func pyusbDFUMode() async throws {
        let server = try await EmulateProcess.start(["--platform", "boron", "--dfu"])
        defer { server.stop() }
        let id = try #require(server.deviceID("boron"))
        let board = try #require(try await Self.pyusbBoards(server)[id])
        #expect(board["product"] as? Int == 0xd00d && board["name"] as? String == "Boron DFU Mode", "\(board)")
        let interfaces = try #require(board["interfaces"] as? [[String: Any]])
        #expect(interfaces.allSatisfy { Self.numbers($0["class"]) == [0xfe, 1, 2] }, "\(interfaces)")
        #expect(interfaces.contains { ($0["name"] as? String)?.hasPrefix("@External Flash   /0x80000000/") == true }, "\(interfaces)")
        // DFU functional descriptor: download/upload/manifestation-tolerant bits, wTransferSize 4096, DfuSe 1.1a.
        let functional = try #require(interfaces.flatMap { ($0["extra"] as? [[NSNumber]] ?? []).map { $0.map(\.intValue) } }.first { $0[1] == 0x21 })
        #expect(functional.count == 9 && functional[5] | functional[6] << 8 == 4096 && functional[7] | functional[8] << 8 == 0x011a, "\(functional)")
        let status = try #require(board["dfuStatus"] as? [String: Any])
        #expect(status["status"] as? Int == 0 && status["state"] as? Int == 2, "dfuIDLE: \(status)")
    }
}
