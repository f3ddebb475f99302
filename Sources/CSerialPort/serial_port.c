#define _GNU_SOURCE
#include "CSerialPort.h"

#include <asm/termbits.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

int otabench_serial_configure_raw(int fd, unsigned int rate) {
    struct termios2 tio;
    if (ioctl(fd, TCGETS2, &tio) != 0) return -1;
    // cfmakeraw's flags, spelled out: termios2 has no helper.
    tio.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF | IXANY);
    tio.c_oflag &= ~OPOST;
    tio.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    tio.c_cflag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS | CBAUD | (CBAUD << IBSHIFT));
    tio.c_cflag |= CS8 | CREAD | CLOCAL | BOTHER | (BOTHER << IBSHIFT);
    tio.c_ispeed = rate;
    tio.c_ospeed = rate;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    return ioctl(fd, TCSETS2, &tio);
}

long otabench_serial_bit_rate(int fd) {
    struct termios2 tio;
    if (ioctl(fd, TCGETS2, &tio) != 0) return -1;
    return (long)tio.c_ospeed;
}

int otabench_serial_set_modem_lines(int fd, int dtr, int rts) {
    int raise = 0, drop = 0;
    if (dtr > 0) raise |= TIOCM_DTR; else if (dtr == 0) drop |= TIOCM_DTR;
    if (rts > 0) raise |= TIOCM_RTS; else if (rts == 0) drop |= TIOCM_RTS;
    if (raise && ioctl(fd, TIOCMBIS, &raise) != 0) return -1;
    if (drop && ioctl(fd, TIOCMBIC, &drop) != 0) return -1;
    return 0;
}

int otabench_open_pseudo_terminal(char *name, unsigned long size) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (master < 0) return -1;
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, size) != 0) {
        int saved = errno;
        close(master);
        errno = saved;
        return -1;
    }
    return master;
}

int otabench_open_pseudo_terminal_peer(int master, const char *path) {
#ifdef TIOCGPTPEER
    int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (peer >= 0 || errno != EINVAL) return peer;
#endif
    /* Kernels before 4.13 have no TIOCGPTPEER. */
    return open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

int otabench_serial_unread(int fd) {
    int count = 0;
    /* What the other end just wrote may still sit in the tty's flip buffer, on its way to the
       line discipline, where FIONREAD does not see it: a busy machine's kworker may move it
       milliseconds later. n_tty's poll flushes that work (tty_buffer_flush_work) before it
       looks, so after it FIONREAD counts every byte written so far. */
    struct pollfd look = { .fd = fd, .events = POLLIN };
    (void)poll(&look, 1, 0);
    if (ioctl(fd, FIONREAD, &count) != 0) return -1;
    return count;
}
