#ifndef C_EASEL_VIPS_H
#define C_EASEL_VIPS_H

#include <stddef.h>
#include <stdint.h>

// A non-variadic face of the few libvips calls Easel makes (Swift cannot call variadic C).
// Every function returns 0 on success and -1 on failure; the failure's text is then taken with
// easel_vips_take_error(). Buffers handed out are released with easel_vips_free().

/// Starts libvips once per process and blocks its operations marked untrusted.
int easel_vips_init(const char *_Nonnull program_name, int concurrency, int cache_max_operations);

/// The loader libvips picks for these bytes (e.g. "jpegload_buffer"), or NULL if none can load them.
const char *_Nullable easel_vips_loader(const void *_Nonnull data, size_t length);

/// Reads only the header: width, height and number of pages.
int easel_vips_header(const void *_Nonnull data, size_t length, int *_Nonnull width, int *_Nonnull height);

/// Decodes fully (failing on any decode error), rotates upright by EXIF orientation, shrinks to fit
/// inside max_size×max_size without enlarging, and encodes as JPEG with no metadata.
int easel_vips_fit_jpeg(const void *_Nonnull data, size_t length, int max_size, int quality,
                        void *_Nullable *_Nonnull out, size_t *_Nonnull out_length);

/// A size×size centre-cropped cover thumbnail, JPEG with no metadata.
int easel_vips_cover_jpeg(const void *_Nonnull data, size_t length, int size, int quality,
                          void *_Nullable *_Nonnull out, size_t *_Nonnull out_length);

/// Encodes packed 8-bit RGB pixels (width×height×3 bytes) as PNG.
int easel_vips_png_from_rgb(const uint8_t *_Nonnull pixels, int width, int height,
                            void *_Nullable *_Nonnull out, size_t *_Nonnull out_length);

/// The last error's text (caller frees it with easel_vips_free), and clears it.
char *_Nonnull easel_vips_take_error(void);

void easel_vips_free(void *_Nullable pointer);

#endif
