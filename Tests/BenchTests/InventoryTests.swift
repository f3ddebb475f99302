@testable import Bench
@testable import Boards
import Power
import Firmware
import Foundation
import TestSupport
import Testing

@Suite("Inventory", .timeLimit(.minutes(10)))
struct InventoryTests {
    /// A real board's first five lines, for the errors that follow them.
    static let realBoard = "[[board]]\nname = \"a\"\nplatform = \"boron\"\nemulated = false\ndevice-id = \"e00fce68000d000000000001\"\n"

    @Test("The default inventory has one emulated board per supported platform")
    func defaultInventory() throws {
        let file = Fixtures.repositoryRoot.appendingPathComponent("Boards/emulated.toml").path
        let inventory = try Inventory.load(file)
        #expect(Set(inventory.entries.map(\.platform.buildName)) == Set(Inventory.defaultEmulated.entries.map(\.platform.buildName)))
        #expect(inventory.entries.allSatisfy { $0.emulated })
        var more = inventory
        more.addEmulated(30)
        #expect(more.entries.count == inventory.entries.count + 30)
        #expect(Set(more.entries.map(\.name)).count == more.entries.count)
    }

    @Test("A bad inventory names the file, the line and the key", arguments: [
        ("[[board]]\nname = \"a\"\nplatform = \"zebra\"\n", 3, "platform", "unknown platform \"zebra\""),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\n\n[[board]]\nname = \"a\"\nplatform = \"p2\"\n", 6, "name", "appears twice"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\ncolour = \"red\"\n", 4, "colour", "unknown key"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\ndefects = [\"gremlins\"]\n", 4, "defects", "unknown defect"),
        ("[[board]]\nplatform = \"boron\"\n", 1, "name", "needs a name"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\nemulated = \"yes\"\n", 4, "emulated", "true or false"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\nemulated = false\n", 4, "emulated", "needs its device-id"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\nemulated = false\ndevice-id = \"123\"\n", 5, "device-id", "24 hex digits"),
        (InventoryTests.realBoard + "power-hub = \"1-1.4\"\n", 6, "power-hub", "needs power-port"),
        (InventoryTests.realBoard + "power-hub = \"1-\"\npower-port = 2\n", 6, "power-hub", "hub location such as"),
        (InventoryTests.realBoard + "power-hub = \"usb1\"\npower-port = 2\n", 6, "power-hub", "hub location such as"),
        (InventoryTests.realBoard + "power-port = 2\n", 6, "power-port", "goes with power-hub"),
        (InventoryTests.realBoard + "power-hub = \"1-1\"\npower-port = 0\n", 7, "power-port", "1…255"),
        (InventoryTests.realBoard + "power-hub = \"1-1\"\npower-port = 2\npower-on = [\"a\"]\npower-off = [\"b\"]\n", 6, "power-hub", "not both"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\npower-hub = \"1-1\"\npower-port = 2\n", 4, "power-hub", "emulated board's power"),
        (InventoryTests.realBoard + "\n[cloud]\ntoken = \"abc\"\n", 8, "token", "does not go in the inventory"),
        (InventoryTests.realBoard + "\n[cloud]\napi = \"particle\"\n", 8, "api", "base URL"),
        (InventoryTests.realBoard + "\n[cloud]\ntoken-env = \"MY TOKEN\"\n", 8, "token-env", "environment variable"),
        (InventoryTests.realBoard + "\n[cloud]\ntimeout = 0\n", 8, "timeout", "1…3600"),
        // TOML's inf, nan and huge floats are where a plain Int(_:) would trap.
        (InventoryTests.realBoard + "\n[cloud]\ntimeout = inf\n", 8, "timeout", "1…3600"),
        (InventoryTests.realBoard + "\n[cloud]\ntimeout = nan\n", 8, "timeout", "1…3600"),
        (InventoryTests.realBoard + "\n[cloud]\ntimeout = 1e300\n", 8, "timeout", "1…3600"),
        (InventoryTests.realBoard + "power-timeout = inf\n", 6, "power-timeout", "above 0"),
        (InventoryTests.realBoard + "power-timeout = -nan\n", 6, "power-timeout", "above 0"),
        (InventoryTests.realBoard + "power-timeout = 1e19\n", 6, "power-timeout", "above 0"),
        (InventoryTests.realBoard + "power-off-time = inf\n", 6, "power-off-time", "above 0"),
        (InventoryTests.realBoard + "\n[cloud]\nproduct = 3\n", 8, "product", "unknown key in [cloud]"),
        (InventoryTests.realBoard + "device-os = \"6.2.0\"\n", 6, "device-os", "a real board reports the Device OS it runs"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\ndevice-os = \"6.2\"\n", 4, "device-os", "major.minor.patch"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\ndevice-os = 6\n", 4, "device-os", "major.minor.patch"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\ndevice-os = \"6.2.0-rc.1\"\n", 4, "device-os", "major.minor.patch"),
        ("[[board]]\nname = \"a\"\nplatform = \"photon\"\ndevice-os = \"5.8.0\"\n", 4, "device-os", "Device OS 2.x was its last"),
        ("[[board]]\nname = \"a\"\nplatform = \"boron\"\ndevice-os = \"6.10.0\"\n", 4, "device-os", "no module version"),
    ])
    func errors(_ text: String, _ line: Int, _ key: String, _ message: String) {
        let error = #expect(throws: InventoryError.self) { try Inventory.parse(text, file: "Boards/lab.toml") }
        #expect(error?.file == "Boards/lab.toml")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.key == key)
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test("Text toml++ would abort the process on is refused first, with its line: a bare key that is not ASCII, a control character anywhere", arguments: [
        ("[[board]]\nname = \"a\"\n[[\u{e9}]]\n", 3, "\"\u{e9}\" where a key starts"),
        ("[[board]]\nname = \"a\"\nb\u{e9} = 1\n", 3, "not ASCII"),
        ("[[board]]\nname = \"a\"\n[\u{5}\u{5}]\n", 3, "control character (U+0005)"),
        ("[[board]]\nname = \"a\u{1}\"\n", 2, "control character (U+0001)"),
        ("# a comment \u{7F}\n[[board]]\n", 1, "control character (U+007F)"),
        ("[[`oard]]\nname = \"a\"\n", 1, "\"`\" where a key starts"),
        ("[[[[board]]\nname = \"a\"\n", 1, "\"[\" where a key starts"),
        ("[[board]]\nname.=\"a\"\n", 2, "\"=\" where a key starts"),
        ("[[board]]\nx = { a = 1, ]\n", 2, "\"]\" where a key starts"),
        ("[[board]]\nna`me = \"a\"\n", 2, "\"`\" outside a quoted string"),
        ("[\nname = \"a\"\n", 1, "a key is missing where the line ends"),
        ("[[board]]\nname. # no key\n", 2, "a key is missing where the line ends"),
        ("[[board]]\nx = { a = 1,\n", 2, "a key is missing where the line ends"),
        ("[[board]]\n[", 2, "a key is missing where the line ends"),
        ("[[board]]\nname = \"a\" @\n", 2, "\"@\" outside a quoted string"),
        ("[[board]]\nname = 'it''s'\nx = 1\rplatform = \"boron\"\n", 3, "control character (U+000D)"),
    ])
    func refusedBeforeTOMLKit(_ text: String, _ line: Int, _ message: String) {
        let error = #expect(throws: InventoryError.self) { try Inventory.parse(text, file: "lab.toml") }
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test("An emulated board's Device OS release: given, it is the board's; absent, the emulator's default")
    func deviceOSRelease() throws {
        let entries = try Inventory.parse("""
            [[board]]
            name = "boron-6"
            platform = "boron"
            device-os = "6.2.0"

            [[board]]
            name = "boron"
            platform = "boron"
            """, file: "lab.toml").entries
        #expect(entries.map(\.deviceOS) == [DeviceOSVersion(6, 2, 0), nil])
    }

    @Test("Tabs and CRLF line ends are TOML, and are taken")
    func tabsAndCRLF() throws {
        let entries = try Inventory.parse("[[board]]\r\nname\t= \"a\"\r\nplatform = \"boron\"\r\n", file: "lab.toml").entries
        #expect(entries.map(\.name) == ["a"])
        // What strings and comments hold is theirs: quotes, escapes, any script.
        let quoted = try Inventory.parse("# `@ é\n[[board]]\nname = \"b \\\" `@ é\" # ok\nplatform = 'boron'\ntags = [\"x\", 'y # not a comment']\n",
                                         file: "lab.toml").entries
        #expect(quoted.map(\.name) == ["b \" `@ é"])
        #expect(quoted.first?.tags == ["x", "y # not a comment"])
        // Arrays over several lines hold values, not keys; inline tables hold keys.
        let spread = try Inventory.parse("[[board]]\nname = \"c\"\nplatform = \"boron\"\ntags = [\n  \"lab\", # first\n  \"x\",\n]\n", file: "lab.toml").entries
        #expect(spread.first?.tags == ["lab", "x"])
    }

    @Test("A board on a hub port gets the hub switch; a board with commands gets the command switch")
    func powerSwitches() throws {
        let text = """
            [[board]]
            name = "on-hub"
            platform = "boron"
            emulated = false
            device-id = "e00fce68000d000000000001"
            power-hub = "1-1.4"
            power-port = 3

            [[board]]
            name = "on-relay"
            platform = "argon"
            emulated = false
            device-id = "e00fce68000c000000000002"
            power-on = ["relayctl", "on"]
            power-off = ["relayctl", "off"]
            """
        let entries = try Inventory.parse(text, file: "lab.toml").entries
        #expect(entries[0].power == .hubPort(location: "1-1.4", port: 3))
        #expect((entries[0].powerSwitch as? HubPortPowerSwitch)?.hubPort == HubPort(location: "1-1.4", port: 3))
        #expect(entries[1].power == .commands(on: ["relayctl", "on"], off: ["relayctl", "off"], timeout: .seconds(30)))
        #expect((entries[1].powerSwitch as? CommandPowerSwitch)?.hook.off == ["relayctl", "off"])
    }

    @Test("The [cloud] table names the API and the token's variable; a real board gets the cloud path only when that variable is set")
    func cloudTable() throws {
        let inventory = try Inventory.parse(Self.realBoard + "\n[cloud]\napi = \"http://127.0.0.1:8090\"\ntoken-env = \"LAB_CLOUD_TOKEN\"\ntimeout = 120\n",
                                            file: "lab.toml")
        #expect(inventory.cloud == CloudSettings(api: "http://127.0.0.1:8090", tokenVariable: "LAB_CLOUD_TOKEN", timeout: .seconds(120)))
        #expect(inventory.cloud.credentials(["PARTICLE_ACCESS_TOKEN": "other"]) == nil, "only the named variable counts")
        let credentials = try #require(inventory.cloud.credentials(["LAB_CLOUD_TOKEN": "s3cret"]))
        #expect(credentials.baseURL == "http://127.0.0.1:8090")
        #expect(!"\(credentials)".contains("s3cret"))
        // Without a [cloud] table: Particle's variables, Particle's API.
        let plain = try Inventory.parse(Self.realBoard, file: "lab.toml")
        #expect(plain.cloud.credentials(["PARTICLE_ACCESS_TOKEN": "t"])?.baseURL == "https://api.particle.io")
        #expect(plain.cloud.credentials([:]) == nil)
        #expect(plain.cloud.flash([:]) == nil && plain.cloud.flash(["PARTICLE_ACCESS_TOKEN": "t"])?.timeout == .seconds(300))
    }

    @Test("A TOML syntax error gives its line")
    func syntaxError() {
        let error = #expect(throws: InventoryError.self) { try Inventory.parse("[[board]]\nname = \"a\nplatform = 3\n", file: "x.toml") }
        #expect(error?.line == 2, "\(String(describing: error))")
    }
}
