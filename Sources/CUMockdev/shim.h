#include <umockdev.h>
#include <glib-object.h>
#include <errno.h>
#include <stddef.h>
#include <linux/usbdevice_fs.h>

// usbdevfs ioctl numbers and URB field offsets, which Swift cannot take from the macros.
static inline size_t otabench_urb_size(void) { return sizeof(struct usbdevfs_urb); }
static inline size_t otabench_urb_offset_status(void) { return offsetof(struct usbdevfs_urb, status); }
static inline size_t otabench_urb_offset_buffer(void) { return offsetof(struct usbdevfs_urb, buffer); }
static inline size_t otabench_urb_offset_buffer_length(void) { return offsetof(struct usbdevfs_urb, buffer_length); }
static inline size_t otabench_urb_offset_actual_length(void) { return offsetof(struct usbdevfs_urb, actual_length); }

typedef gboolean (*otabench_ioctl_handler)(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer data);

static inline gulong otabench_connect_ioctl(UMockdevIoctlBase *handler, otabench_ioctl_handler callback, gpointer data) {
    return g_signal_connect(handler, "handle-ioctl", G_CALLBACK(callback), data);
}
