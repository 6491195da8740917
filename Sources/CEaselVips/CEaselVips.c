#include "CEaselVips.h"
#include <vips/vips.h>

int easel_vips_init(const char *program_name, int concurrency, int cache_max_operations) {
  if (VIPS_INIT(program_name) != 0) return -1;
  vips_block_untrusted_set(TRUE);
  if (concurrency > 0) vips_concurrency_set(concurrency);
  if (cache_max_operations >= 0) vips_cache_set_max(cache_max_operations);
  return 0;
}

const char *easel_vips_loader(const void *data, size_t length) {
  return vips_foreign_find_load_buffer(data, length);
}

int easel_vips_header(const void *data, size_t length, int *width, int *height) {
  VipsImage *image = vips_image_new_from_buffer(data, length, "", NULL);
  if (image == NULL) return -1;
  *width = vips_image_get_width(image);
  *height = vips_image_get_height(image);
  g_object_unref(image);
  return 0;
}

static int save_jpeg(VipsImage *image, int quality, void **out, size_t *out_length) {
  return vips_jpegsave_buffer(image, out, out_length, "Q", quality, "strip", TRUE, NULL);
}

int easel_vips_fit_jpeg(const void *data, size_t length, int max_size, int quality, void **out, size_t *out_length) {
  VipsImage *image = NULL;
  // thumbnail_buffer rotates by the EXIF orientation; fail_on=error rejects truncated or corrupt files.
  if (vips_thumbnail_buffer((void *)data, length, &image, max_size, "height", max_size, "size", VIPS_SIZE_DOWN,
                            "option_string", "fail_on=error", NULL) != 0)
    return -1;
  int result = save_jpeg(image, quality, out, out_length);
  g_object_unref(image);
  return result;
}

int easel_vips_cover_jpeg(const void *data, size_t length, int size, int quality, void **out, size_t *out_length) {
  VipsImage *image = NULL;
  if (vips_thumbnail_buffer((void *)data, length, &image, size, "height", size, "size", VIPS_SIZE_BOTH, "crop",
                            VIPS_INTERESTING_CENTRE, "option_string", "fail_on=error", NULL) != 0)
    return -1;
  int result = save_jpeg(image, quality, out, out_length);
  g_object_unref(image);
  return result;
}

int easel_vips_png_from_rgb(const uint8_t *pixels, int width, int height, void **out, size_t *out_length) {
  VipsImage *image =
      vips_image_new_from_memory(pixels, (size_t)width * (size_t)height * 3, width, height, 3, VIPS_FORMAT_UCHAR);
  if (image == NULL) return -1;
  int result = vips_pngsave_buffer(image, out, out_length, "compression", 6, NULL);
  g_object_unref(image);
  return result;
}

char *easel_vips_take_error(void) {
  char *message = vips_error_buffer_copy();
  return message;
}

void easel_vips_free(void *pointer) { g_free(pointer); }
