#include "io/image_folder.h"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "io/dataset_writer.h"

namespace shardnet::io {
namespace fs = std::filesystem;
namespace {

// Larger images are refused before their pixels are allocated (8192 x 8192 RGB is 192 MiB).
constexpr uint64_t kMaxPixels = uint64_t{1} << 26;

std::string size_text(int64_t height, int64_t width) { return std::to_string(height) + "x" + std::to_string(width); }

std::string too_large(const std::string& name, uint64_t height, uint64_t width) {
  return name + ": " + std::to_string(height) + "x" + std::to_string(width) + " pixels, more than the " +
         std::to_string(kMaxPixels) + " an image may have";
}

// JPEG -------------------------------------------------------------------------------------------
// libjpeg reports errors by calling error_exit, which must not return: it longjmps back to the
// setjmp in decode_jpeg_into, which holds no C++ objects with destructors. Warnings (a truncated
// file is only a warning to libjpeg, which pads the image with gray) are errors here.

struct JpegErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0) jpeg_error_exit(cinfo);  // a warning: corrupt data
}

// Fills `out` (whose vector lives in the caller's frame); false with err.message set on failure.
bool decode_jpeg_into(const uint8_t* bytes, size_t size, JpegErrorManager& err, Image* out) {
  jpeg_decompress_struct cinfo;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = jpeg_error_exit;
  err.pub.emit_message = jpeg_emit_message;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  // Before jpeg_start_decompress, which allocates by the header's size (a progressive image holds
  // all its coefficients): a 16-byte header may claim 65535 x 65535.
  if (uint64_t{cinfo.image_height} * cinfo.image_width > kMaxPixels) {
    out->height = cinfo.image_height;
    out->width = cinfo.image_width;
    std::snprintf(err.message, sizeof err.message, "%s", "too large");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const uint64_t height = cinfo.output_height, width = cinfo.output_width;
  const uint64_t channels = static_cast<uint64_t>(cinfo.output_components);
  out->height = static_cast<int64_t>(height);
  out->width = static_cast<int64_t>(width);
  out->channels = static_cast<int64_t>(channels);
  if (height * width > kMaxPixels || (channels != 1 && channels != 3)) {
    std::snprintf(err.message, sizeof err.message, "%s",
                  channels != 1 && channels != 3 ? "unexpected number of colour components" : "too large");
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  out->pixels.resize(height * width * channels);
  const size_t stride = width * channels;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out->pixels.data() + cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(path + ": cannot open the file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ImageError(path + ": read error");
  return bytes;
}

std::string hex_bytes(const std::vector<uint8_t>& bytes, size_t count) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < std::min(count, bytes.size()); ++i) {
    out += (i ? " " : "") + std::string{digits[bytes[i] >> 4], digits[bytes[i] & 15]};
  }
  return out;
}

// Resizing ---------------------------------------------------------------------------------------

constexpr int64_t kWeightBits = 11;
constexpr int64_t kOne = int64_t{1} << kWeightBits;

// For each output index, the two input indices and the weight of the second in 1/2048. The
// source coordinate is ((2 d + 1) in - out) / (2 out), clamped to [0, in - 1], in exact integers.
struct Tap {
  int64_t i0 = 0, i1 = 0, w = 0;
};

std::vector<Tap> taps(int64_t in, int64_t out) {
  std::vector<Tap> result(static_cast<size_t>(out));
  const int64_t den = 2 * out;
  for (int64_t d = 0; d < out; ++d) {
    const int64_t num = (2 * d + 1) * in - out;
    Tap& t = result[static_cast<size_t>(d)];
    if (num <= 0) continue;  // before the first centre
    t.i0 = num / den;
    if (t.i0 >= in - 1) {
      t.i0 = t.i1 = in - 1;
      continue;
    }
    t.i1 = t.i0 + 1;
    t.w = ((num % den) * kOne + den / 2) / den;
  }
  return result;
}

// Listing ----------------------------------------------------------------------------------------

bool hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

// Conversion -------------------------------------------------------------------------------------

struct Job {
  std::string path;
  int32_t label = 0;
  bool val = false;
};

struct Decoded {
  Image image;
  std::exception_ptr error;
  std::string message;  // of an ImageError (which --skip-bad may skip)
};

// Decodes jobs[first, first + out.size()) on `threads` threads (the caller's among them).
void decode_block(const std::vector<Job>& jobs, size_t first, int64_t threads, const ImageOptions& o,
                  std::vector<Decoded>& out) {
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i; (i = next++) < out.size();) {
      try {
        out[i].image = read_image_as(jobs[first + i].path, o.channels, o.height, o.width);
      } catch (const ImageError& e) {
        out[i].message = e.what();
        out[i].error = std::current_exception();
      } catch (...) {
        out[i].error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  const auto helpers = std::min<int64_t>(threads, static_cast<int64_t>(out.size())) - 1;
  for (int64_t t = 0; t < helpers; ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
}

// Rows of one output file, gathered for a block and appended in order.
struct Pending {
  std::vector<uint8_t> data;
  std::vector<int32_t> labels;
  void flush(DatasetWriter& writer) {
    writer.append(data.data(), labels.data(), static_cast<int64_t>(labels.size()));
    data.clear();
    labels.clear();
  }
};

// Appends `image` to `data` as planar (C, H, W) bytes; adds its values to the channel sums.
void append_planar(const Image& image, std::vector<uint8_t>& data, std::vector<uint64_t>* sum,
                   std::vector<uint64_t>* sum_squares) {
  const int64_t channels = image.channels, pixels = image.height * image.width;
  const size_t base = data.size();
  data.resize(base + static_cast<size_t>(channels * pixels));
  for (int64_t c = 0; c < channels; ++c) {
    uint8_t* plane = data.data() + base + c * pixels;
    uint64_t s = 0, ss = 0;
    for (int64_t p = 0; p < pixels; ++p) {
      const uint8_t v = image.pixels[static_cast<size_t>(p * channels + c)];
      plane[p] = v;
      s += v;
      ss += uint64_t{v} * v;
    }
    if (sum != nullptr) {
      (*sum)[static_cast<size_t>(c)] += s;
      (*sum_squares)[static_cast<size_t>(c)] += ss;
    }
  }
}

void check_options(const std::string& out_path, const ImageOptions& o) {
  if (o.channels != 1 && o.channels != 3) throw ImageError("channels must be 1 or 3");
  if (o.height < 0 || o.width < 0 || (o.height == 0) != (o.width == 0)) {
    throw ImageError("the size must have a positive height and width (or neither)");
  }
  if (o.val_per_class < 0) throw ImageError("the validation images per class must be >= 0");
  if (o.val_per_class > 0 && o.val_path.empty()) throw ImageError("validation images need a validation file");
  if (o.val_per_class > 0 && fs::weakly_canonical(o.val_path) == fs::weakly_canonical(out_path)) {
    throw ImageError(out_path + ": the training and validation files are the same file");
  }
  if (o.threads < 1) throw ImageError("threads must be at least 1");
  if (o.gzip_level < 0 || o.gzip_level > 9) throw ImageError("the gzip level must be in 0..9");
}

}  // namespace

Image decode_jpeg(const uint8_t* bytes, size_t size, const std::string& name) {
  JpegErrorManager err;
  Image image;
  if (!decode_jpeg_into(bytes, size, err, &image)) {
    if (std::strcmp(err.message, "too large") == 0) {
      throw ImageError(too_large(name, static_cast<uint64_t>(image.height), static_cast<uint64_t>(image.width)));
    }
    throw ImageError(name + ": corrupt JPEG: " + err.message);
  }
  return image;
}

Image decode_png(const uint8_t* bytes, size_t size, const std::string& name) {
  // libpng stops after the image data: a file cut in its last chunk would pass unnoticed.
  static const uint8_t kEnd[8] = {'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  const uint8_t* tail = bytes + size - std::min<size_t>(size, 4096);
  if (std::search(tail, bytes + size, kEnd, kEnd + 8) == bytes + size) {
    throw ImageError(name + ": corrupt PNG: truncated (no IEND chunk)");
  }
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes, size)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw ImageError(name + ": corrupt PNG: " + message);
  }
  png.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;  // 16-bit files without gamma information are sRGB
  if (uint64_t{png.height} * png.width > kMaxPixels) {
    const auto height = png.height, width = png.width;
    png_image_free(&png);
    throw ImageError(too_large(name, height, width));
  }
  png.format = (png.format & PNG_FORMAT_FLAG_COLOR) ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  Image image;
  image.height = png.height;
  image.width = png.width;
  image.channels = PNG_IMAGE_PIXEL_CHANNELS(png.format);
  image.pixels.assign(PNG_IMAGE_SIZE(png), 0);  // alpha is composited onto these zeros (black)
  if (!png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw ImageError(name + ": corrupt PNG: " + message);
  }
  return image;
}

Image read_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  if (bytes.empty()) throw ImageError(path + ": the file is empty");
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    return decode_jpeg(bytes.data(), bytes.size(), path);
  }
  if (bytes.size() >= 8 && std::equal(kPng, kPng + 8, bytes.begin()))
    return decode_png(bytes.data(), bytes.size(), path);
  throw ImageError(path + ": not a JPEG or PNG file (it starts with bytes " + hex_bytes(bytes, 8) + ")");
}

Image convert_channels(const Image& image, int64_t channels) {
  if (image.channels == channels) return image;
  if (!(image.channels == 1 || image.channels == 3) || !(channels == 1 || channels == 3)) {
    throw ImageError("cannot convert " + std::to_string(image.channels) + " channels to " + std::to_string(channels));
  }
  Image out;
  out.height = image.height;
  out.width = image.width;
  out.channels = channels;
  const size_t pixels = static_cast<size_t>(image.height * image.width);
  out.pixels.resize(pixels * static_cast<size_t>(channels));
  const uint8_t* in = image.pixels.data();
  if (channels == 3) {
    for (size_t p = 0; p < pixels; ++p) out.pixels[3 * p] = out.pixels[3 * p + 1] = out.pixels[3 * p + 2] = in[p];
  } else {
    for (size_t p = 0; p < pixels; ++p) {
      const uint32_t sum = 299u * in[3 * p] + 587u * in[3 * p + 1] + 114u * in[3 * p + 2];
      out.pixels[p] = static_cast<uint8_t>((sum + 500) / 1000);
    }
  }
  return out;
}

Image read_image_as(const std::string& path, int64_t channels, int64_t height, int64_t width) {
  Image image = convert_channels(read_image(path), channels);
  if (height > 0 && (image.height != height || image.width != width)) image = resize_bilinear(image, height, width);
  return image;
}

Image resize_bilinear(const Image& image, int64_t height, int64_t width) {
  if (height < 1 || width < 1) throw ImageError("cannot resize to " + size_text(height, width));
  if (image.height < 1 || image.width < 1) throw ImageError("cannot resize an empty image");
  const std::vector<Tap> ys = taps(image.height, height), xs = taps(image.width, width);
  const int64_t c_count = image.channels, in_row = image.width * c_count;
  Image out;
  out.height = height;
  out.width = width;
  out.channels = c_count;
  out.pixels.resize(static_cast<size_t>(height * width * c_count));
  const uint8_t* in = image.pixels.data();
  uint8_t* dst = out.pixels.data();
  for (const Tap& y : ys) {
    const uint8_t* row0 = in + y.i0 * in_row;
    const uint8_t* row1 = in + y.i1 * in_row;
    for (const Tap& x : xs) {
      for (int64_t c = 0; c < c_count; ++c) {
        const int64_t a = row0[x.i0 * c_count + c], b = row0[x.i1 * c_count + c];
        const int64_t d = row1[x.i0 * c_count + c], e = row1[x.i1 * c_count + c];
        const int64_t top = (kOne - x.w) * a + x.w * b, bottom = (kOne - x.w) * d + x.w * e;
        const int64_t value = (kOne - y.w) * top + y.w * bottom;
        *dst++ = static_cast<uint8_t>((value + (kOne * kOne / 2)) >> (2 * kWeightBits));
      }
    }
  }
  return out;
}

bool has_image_extension(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

ImageFolder list_image_folder(const std::string& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw ImageError(root + ": no such folder");
  if (!fs::is_directory(root, ec)) throw ImageError(root + ": not a folder (expected ROOT/<class>/*.jpg|png)");
  ImageFolder folder;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && !hidden(name)) {
      folder.classes.push_back(name);
    } else {
      ++folder.ignored;
    }
  }
  if (folder.classes.empty()) {
    throw ImageError(root + ": no class folders (expected ROOT/<class>/*.jpg, .jpeg or .png)");
  }
  std::sort(folder.classes.begin(), folder.classes.end());
  for (const auto& name : folder.classes) {
    const fs::path dir = fs::path(root) / name;
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string file = entry.path().filename().string();
      if (entry.is_regular_file() && !hidden(file) && has_image_extension(file)) {
        names.push_back(file);
      } else {
        ++folder.ignored;
      }
    }
    if (names.empty()) throw ImageError(dir.string() + ": no images (.jpg, .jpeg, .png)");
    std::sort(names.begin(), names.end());
    auto& paths = folder.files.emplace_back();
    for (const auto& file : names) paths.push_back((dir / file).string());
  }
  return folder;
}

ImageConversion convert_image_folder(const std::string& root, const std::string& out_path,
                                     const ImageOptions& options) {
  check_options(out_path, options);
  const ImageFolder folder = list_image_folder(root);
  const auto k = static_cast<size_t>(options.val_per_class);
  std::vector<Job> jobs;
  for (size_t label = 0; label < folder.classes.size(); ++label) {
    const auto& files = folder.files[label];
    if (k > 0 && files.size() <= k) {
      throw ImageError((fs::path(root) / folder.classes[label]).string() + ": " + std::to_string(files.size()) +
                       " images, too few to keep the last " + std::to_string(k) +
                       " for validation and train on the rest");
    }
    for (size_t i = 0; i < files.size(); ++i)
      jobs.push_back({files[i], static_cast<int32_t>(label), i + k >= files.size() && k > 0});
  }

  ImageConversion result;
  result.classes = static_cast<int64_t>(folder.classes.size());
  result.channels = options.channels;
  result.resized = options.height > 0;
  result.ignored = folder.ignored;
  const std::string part =
      options.val_per_class > 0 ? ", all but the last " + std::to_string(k) + " files of each class" : std::string();
  std::optional<DatasetWriter> train, val;
  std::string first_path;
  std::vector<uint64_t> sum(static_cast<size_t>(options.channels)), sum_squares(sum.size());
  Pending train_rows, val_rows;

  const auto open_writers = [&](const Image& first) {
    result.height = first.height;
    result.width = first.width;
    DatasetInfo info;
    info.sample_shape = {options.channels, first.height, first.width};
    info.classes = folder.classes;
    info.gzip_level = options.gzip_level;
    info.data_type = ElementType::kUint8;
    info.label_type = LabelType::kClassIds;
    const std::string how = result.resized ? "resized to " + size_text(first.height, first.width) + " (bilinear)"
                                           : size_text(first.height, first.width) + " as found";
    info.source = "images: " + root + ", " + std::to_string(result.classes) + " classes, " + how + part;
    train.emplace(out_path, info);
    if (options.val_per_class > 0) {
      info.source = "images: " + root + ", " + std::to_string(result.classes) + " classes, " + how + ", the last " +
                    std::to_string(k) + " files of each class";
      val.emplace(options.val_path, info);
    }
  };

  // Small first blocks; later ones hold about 64 MiB of decoded rows.
  size_t block = static_cast<size_t>(std::max<int64_t>(16, options.threads * 4));
  std::vector<Decoded> decoded;
  for (size_t first = 0; first < jobs.size(); first += decoded.size()) {
    decoded.assign(std::min(block, jobs.size() - first), Decoded{});
    decode_block(jobs, first, options.threads, options, decoded);
    for (size_t i = 0; i < decoded.size(); ++i) {
      const Job& job = jobs[first + i];
      Decoded& d = decoded[i];
      if (d.error) {
        if (options.skip_bad && !d.message.empty()) {
          result.skipped.push_back(d.message);
          continue;
        }
        std::rethrow_exception(d.error);
      }
      const Image& image = d.image;
      if (!train) {
        open_writers(image);
        first_path = job.path;
      } else if (image.height != result.height || image.width != result.width) {
        throw ImageError(job.path + ": " + size_text(image.height, image.width) + " but the first image (" +
                         first_path + ") is " + size_text(result.height, result.width) + "; pass --size to resize");
      }
      Pending& rows = job.val ? val_rows : train_rows;
      append_planar(image, rows.data, job.val ? nullptr : &sum, job.val ? nullptr : &sum_squares);
      rows.labels.push_back(job.label);
    }
    if (train) {
      train_rows.flush(*train);
      if (val) val_rows.flush(*val);
      const auto row_bytes = static_cast<size_t>(options.channels * result.height * result.width);
      block = std::clamp<size_t>((size_t{64} << 20) / row_bytes, 16, 2048);
    }
  }
  if (!train || train->rows() == 0) {
    throw ImageError(root + ": no training image could be read (" + std::to_string(result.skipped.size()) +
                     " skipped)");
  }

  const auto n = static_cast<double>(train->rows() * result.height * result.width);
  for (size_t c = 0; c < sum.size(); ++c) {
    const double mean = static_cast<double>(sum[c]) / n, mean_square = static_cast<double>(sum_squares[c]) / n;
    result.mean.push_back(mean / 255.0);
    result.std.push_back(std::sqrt(std::max(0.0, mean_square - mean * mean)) / 255.0);
  }
  for (auto* writer : {&train, &val}) {
    if (!*writer) continue;
    (*writer)->set_float_list_attribute("mean", result.mean);
    (*writer)->set_float_list_attribute("std", result.std);
  }
  result.files.push_back({out_path, train->rows()});
  if (val) result.files.push_back({options.val_path, val->rows()});
  train->finish();
  if (val) val->finish();
  return result;
}

}  // namespace shardnet::io
