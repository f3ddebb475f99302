import Emulator

/// A firmware bug an emulated board can be seeded with (the inventory's `defects`): the
/// emulator's own list, named here so the bench picks defects without reaching the emulator.
public typealias Defect = Emulator.Defect
