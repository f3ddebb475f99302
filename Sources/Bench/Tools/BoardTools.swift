import Boards

// What the command line does with one board at a time, outside a run (list, flash, reset,
// inspect, console, power), named at the layer it calls. The flows live in Boards, once.

/// A board on USB: listing, the host guard, DFU flashing with verify and progress, modes, its module table.
public typealias USBBoard = Boards.USBBoard
/// A board on USB as `otabench boards` lists it.
public typealias USBBoardListing = Boards.USBBoardListing
/// A row of a board's module table with the checks Device OS ran on it.
public typealias ModuleTableEntry = Boards.ModuleTableEntry
/// A board's serial port, by tty path or device id.
public typealias SerialTarget = Boards.SerialTarget
/// A board in listening mode, to be flashed by YMODEM.
public typealias SerialFlashing = Boards.SerialFlashing
/// What a board said after an image sent by YMODEM.
public typealias SerialFlashOutcome = Boards.SerialFlashOutcome
/// A board's console followed live.
public typealias LiveConsole = Boards.LiveConsole
/// A real board's power switch driven by hand.
public typealias BoardPowerSwitch = Boards.BoardPowerSwitch
