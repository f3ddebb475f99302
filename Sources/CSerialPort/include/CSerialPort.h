#ifndef OTABENCH_CSERIALPORT_H
#define OTABENCH_CSERIALPORT_H

/// Line settings glibc's termios cannot express. Linux's termios2 (TCGETS2/TCSETS2 with
/// BOTHER) takes any bit rate, which glibc 2.36's cfsetspeed does not: 14400 and 28800,
/// the rates that make a Particle board enter DFU or listening mode, have no B constant.
/// <asm/termbits.h> and <termios.h> cannot share a translation unit, hence this file.

/// Puts the line in raw 8N1 mode at `rate` bits per second, for input and output.
/// Returns 0, or -1 with errno set.
int otabench_serial_configure_raw(int fd, unsigned int rate);

/// The line's current output bit rate, or -1 with errno set. On a pseudo-terminal's master
/// this reads the slave's setting: what the program at the other end asked for.
long otabench_serial_bit_rate(int fd);



/// Raises (1) or drops (0) DTR and RTS; a negative value leaves that line as it is.
/// Returns 0, or -1 with errno set (ENOTTY or EINVAL on a pseudo-terminal, which has no
/// modem lines).
int otabench_serial_set_modem_lines(int fd, int dtr, int rts);

/// Opens a pseudo-terminal's master side (non-blocking, close-on-exec), grants and unlocks
/// its slave and writes the slave's path into `name`. Returns the master descriptor, or -1
/// with errno set.
int otabench_open_pseudo_terminal(char *name, unsigned long size);

/// Opens the slave side of the pseudo-terminal `master` through the master itself
/// (TIOCGPTPEER), or by `path` where the kernel predates it. Returns the descriptor, or -1.
int otabench_open_pseudo_terminal_peer(int master, const char *path);

/// Bytes received on the line that nobody has read yet (FIONREAD), or -1 with errno set.
int otabench_serial_unread(int fd);
#endif
