// CPU time of three ways to make a 200×200 cover thumbnail with libvips, one image at a time
// (docs/performance.md, item 3). Build and run:
//   cc -O2 Benchmarks/experiments/thumbnail_paths.c -o /tmp/thumbnail_paths $(pkg-config --cflags --libs vips)
//   /tmp/thumbnail_paths 400 64
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <vips/vips.h>

static double cpu_seconds(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static void save_jpeg(VipsImage *image) {
  void *jpeg;
  size_t length;
  vips_jpegsave_buffer(image, &jpeg, &length, "Q", 80, "strip", TRUE, NULL);
  g_free(jpeg);
}

int main(int argc, char **argv) {
  if (argc < 3 || VIPS_INIT(argv[0])) return 1;
  int count = atoi(argv[1]), size = atoi(argv[2]);
  vips_cache_set_max(0);  // every image is new, as in the pipeline
  unsigned char *pixels = malloc((size_t)size * size * 3);
  for (int i = 0; i < size * size * 3; i++) pixels[i] = (unsigned char)(i * 7);
  VipsImage *source = vips_image_new_from_memory(pixels, (size_t)size * size * 3, size, size, 3, VIPS_FORMAT_UCHAR);
  void *png;
  size_t png_length;
  vips_pngsave_buffer(source, &png, &png_length, "compression", 6, NULL);

  double start = cpu_seconds();
  for (int i = 0; i < count; i++) {  // Easel's path: from the output's PNG
    VipsImage *thumbnail;
    vips_thumbnail_buffer(png, png_length, &thumbnail, 200, "height", 200, "size", VIPS_SIZE_BOTH, "crop",
                          VIPS_INTERESTING_CENTRE, "option_string", "fail_on=error", NULL);
    save_jpeg(thumbnail);
    g_object_unref(thumbnail);
  }
  double from_png = cpu_seconds();
  for (int i = 0; i < count; i++) {  // from the pixels in memory: no PNG decode
    VipsImage *image = vips_image_new_from_memory(pixels, (size_t)size * size * 3, size, size, 3, VIPS_FORMAT_UCHAR);
    VipsImage *thumbnail;
    vips_thumbnail_image(image, &thumbnail, 200, "height", 200, "size", VIPS_SIZE_BOTH, "crop", VIPS_INTERESTING_CENTRE,
                         NULL);
    save_jpeg(thumbnail);
    g_object_unref(thumbnail);
    g_object_unref(image);
  }
  double from_pixels = cpu_seconds();
  for (int i = 0; i < count; i++) {  // a plain linear resize, no crop
    VipsImage *image = vips_image_new_from_buffer(png, png_length, "", NULL), *resized;
    vips_resize(image, &resized, 200.0 / size, "kernel", VIPS_KERNEL_LINEAR, NULL);
    save_jpeg(resized);
    g_object_unref(resized);
    g_object_unref(image);
  }
  double linear = cpu_seconds();
  for (int i = 0; i < count; i++) {  // the PNG decode alone
    VipsImage *image = vips_image_new_from_buffer(png, png_length, "", NULL);
    VipsImage *decoded = vips_image_copy_memory(image);
    g_object_unref(decoded);
    g_object_unref(image);
  }
  double decode = cpu_seconds();
  printf("ms of CPU per %dx%d image: thumbnail from PNG %.2f, from pixels %.2f, linear resize %.2f, PNG decode %.2f\n",
         size, size, (from_png - start) * 1e3 / count, (from_pixels - from_png) * 1e3 / count,
         (linear - from_pixels) * 1e3 / count, (decode - linear) * 1e3 / count);
  return 0;
}
