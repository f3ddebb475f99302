import ScenarioAPI
import Firmware
import Foundation

/// A release's module binaries, each one's part found by inspecting it: the platform it is
/// built for, its function and its version. Per platform, the newest user app is the release's
/// app (`next-app`) and an older one, if the folder has it, the app it replaces
/// (`known-good-app`); the newest system part is `next-system-part`.
public struct ReleaseFirmware: Sendable {
    public struct Image: Hashable, Sendable, Codable {
        public var file: String
        public var platform: String
        public var function: String
        public var version: Int
        public var role: String
        public var sha256: String
    }

    public var folder: String
    public var images: [Image]
    private var byPlatform: [PlatformID: [FirmwareRole: FirmwareImage]]

    public init(folder: String) throws(FirmwareFolderError) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".bin") }.sorted() } catch {
            throw FirmwareFolderError(path: folder, reason: "cannot be read: \(error.localizedDescription)")
        }
        guard !names.isEmpty else { throw FirmwareFolderError(path: folder, reason: "holds no .bin module") }
        var found: [(path: String, file: ModuleFile, module: FirmwareModule)] = []
        for name in names {
            let path = (folder as NSString).appendingPathComponent(name)
            let file: ModuleFile
            do { file = try ModuleFile(contentsOf: path) } catch { throw FirmwareFolderError(path: path, reason: error.description) }
            guard file.isValid, let module = file.modules.first else {
                throw FirmwareFolderError(path: path, reason: "not a valid module: "
                    + file.allFindings.filter(\.isError).map(\.message).joined(separator: "; "))
            }
            guard Platform(id: module.platformID) != nil else {
                throw FirmwareFolderError(path: path, reason: "built for platform \(module.platformID), which otabench does not know")
            }
            found.append((path, file, module))
        }
        var byPlatform: [PlatformID: [FirmwareRole: FirmwareImage]] = [:]
        var images: [Image] = []
        for platformID in Set(found.map(\.module.platformID)) {
            let platform = Platform(id: platformID)!
            let mine = found.filter { $0.module.platformID == platformID }
            var roles: [FirmwareRole: (String, ModuleFile, FirmwareModule)] = [:]
            let apps = mine.filter { $0.module.function == .user }.sorted { $0.module.version > $1.module.version }
            if let newest = apps.first { roles[.nextApp] = newest }
            if apps.count > 1 { roles[.knownGoodApp] = apps[1] }
            if let system = mine.filter({ $0.module.function == .system }).max(by: { $0.module.version < $1.module.version }) {
                roles[.nextSystemPart] = system
            }
            for (role, (path, file, module)) in roles {
                byPlatform[platformID, default: [:]][role] = FirmwareImage(bytes: file.bytes, label: "\(role.rawValue) from \(path)", role: role)
                images.append(Image(file: path, platform: platform.buildName, function: "\(module.function)", version: Int(module.version),
                                    role: role.rawValue, sha256: SHA256.digest(file.bytes).hexString))
            }
        }
        self.folder = folder
        self.images = images.sorted { ($0.platform, $0.role) < ($1.platform, $1.role) }
        self.byPlatform = byPlatform
    }

    /// The platforms the release has images for.
    public var platforms: Set<PlatformID> { Set(byPlatform.keys) }

    /// `library` with the release's images in their roles.
    public func applied(to library: FirmwareLibrary) -> FirmwareLibrary {
        library.replacing(byPlatform[library.platform.id] ?? [:])
    }
}

extension BoardUnderTest {
    /// The board tested with the release's images: their roles replace the board's own, and
    /// its clean state takes the release's known-good app when the release has one.
    public func using(_ release: ReleaseFirmware) -> BoardUnderTest {
        var board = self
        let before = firmware.image(.knownGoodApp)
        board.firmware = release.applied(to: firmware)
        let after = board.firmware.image(.knownGoodApp)
        board.cleanImages = cleanImages.map { $0 == before ? after : $0 }
        return board
    }
}
