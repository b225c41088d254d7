#include "io/image_folder.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "io/hdf5.h"
#include "tests/io/image_files.h"
#include "tests/io/test_files.h"

namespace shardnet::io {
namespace {

namespace fs = std::filesystem;
using testing::blank_image;
using testing::expect_error;
using testing::noise_image;
using testing::smooth_image;
using testing::TempDir;
using testing::write_jpeg;
using testing::write_png;

// JPEG at quality 95 on the smooth test images (48x40), measured with Debian 12's libjpeg-turbo:
// mean absolute error 0.87-0.96 and maximum 6-8 (of 255) for RGB (4:2:0 chroma), 0.19-0.22 and
// 1-2 for gray. The bounds leave room for other libjpeg builds and still catch a decoder that
// drops chroma, shifts rows or swaps channels.
constexpr double kJpegMeanError = 2.0;
constexpr int kJpegMaxError = 20;

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void truncate_copy(const std::string& from, const std::string& to, size_t bytes) {
  auto data = file_bytes(from);
  ASSERT_GT(data.size(), bytes);
  data.resize(bytes);
  testing::write_bytes(to, data);
}

void expect_same(const Image& a, const Image& b) {
  ASSERT_EQ(a.height, b.height);
  ASSERT_EQ(a.width, b.width);
  ASSERT_EQ(a.channels, b.channels);
  EXPECT_EQ(a.pixels, b.pixels);
}

struct Errors {
  double mean = 0;
  int max = 0;
};

Errors compare(const Image& a, const Image& b) {
  Errors e;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const int d = std::abs(static_cast<int>(a.pixels[i]) - static_cast<int>(b.pixels[i]));
    e.mean += d;
    e.max = std::max(e.max, d);
  }
  e.mean /= static_cast<double>(a.pixels.size());
  return e;
}

// Decoding ---------------------------------------------------------------------------------------

TEST(ImageFolder, PngRoundTripsExactly) {
  TempDir dir;
  for (int64_t channels : {3, 1}) {
    const Image image = noise_image(37, 23, channels, static_cast<uint32_t>(channels));
    const std::string path = dir.file("noise" + std::to_string(channels) + ".png");
    write_png(path, image);
    expect_same(read_image(path), image);
  }
}

TEST(ImageFolder, JpegRoundTripsWithinTolerance) {
  TempDir dir;
  for (int64_t channels : {3, 1}) {
    for (int seed : {0, 1, 2}) {
      const Image image = smooth_image(48, 40, channels, seed);
      const std::string path = dir.file("smooth" + std::to_string(channels) + "-" + std::to_string(seed) + ".jpg");
      write_jpeg(path, image, 95);
      const Image decoded = read_image(path);
      ASSERT_EQ(decoded.height, 48);
      ASSERT_EQ(decoded.width, 40);
      ASSERT_EQ(decoded.channels, channels);
      const Errors e = compare(decoded, image);
      EXPECT_LT(e.mean, kJpegMeanError) << channels << " channels, seed " << seed;
      EXPECT_LT(e.max, kJpegMaxError) << channels << " channels, seed " << seed;
      std::printf("JPEG q95, %lld channel(s), seed %d: mean abs error %.3f, max %d\n", static_cast<long long>(channels),
                  seed, e.mean, e.max);
    }
  }
}

TEST(ImageFolder, ConvertsChannels) {
  Image rgb = blank_image(1, 4, 3);
  rgb.pixels = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
  // (299 R + 587 G + 114 B) / 1000, rounded: 76.245, 149.685, 29.07, 18.15.
  EXPECT_EQ(convert_channels(rgb, 1).pixels, (std::vector<uint8_t>{76, 150, 29, 18}));
  Image gray = blank_image(1, 2, 1);
  gray.pixels = {7, 200};
  const Image three = convert_channels(gray, 3);
  EXPECT_EQ(three.channels, 3);
  EXPECT_EQ(three.pixels, (std::vector<uint8_t>{7, 7, 7, 200, 200, 200}));
  expect_same(convert_channels(rgb, 3), rgb);
}

TEST(ImageFolder, SniffsTheFormatAndNamesBadFiles) {
  TempDir dir;
  const Image image = noise_image(5, 6, 3, 9);
  write_png(dir.file("really-a-png.jpg"), image);
  expect_same(read_image(dir.file("really-a-png.jpg")), image);

  testing::write_bytes(dir.file("text.jpg"), {'h', 'e', 'l', 'l', 'o', '\n'});
  expect_error([&] { read_image(dir.file("text.jpg")); },
               {dir.file("text.jpg") + ": not a JPEG or PNG file (it starts with bytes 68 65 6c 6c 6f 0a)"});
  testing::write_bytes(dir.file("empty.png"), {});
  expect_error([&] { read_image(dir.file("empty.png")); }, {dir.file("empty.png") + ": the file is empty"});
  expect_error([&] { read_image(dir.file("missing.png")); }, {dir.file("missing.png") + ": cannot open"});

  write_jpeg(dir.file("whole.jpg"), smooth_image(64, 64, 3, 0));
  for (size_t bytes : {size_t{3}, size_t{200}, file_bytes(dir.file("whole.jpg")).size() / 2,
                       file_bytes(dir.file("whole.jpg")).size() - 2}) {
    truncate_copy(dir.file("whole.jpg"), dir.file("cut.jpg"), bytes);
    expect_error([&] { read_image(dir.file("cut.jpg")); }, {dir.file("cut.jpg") + ": corrupt JPEG: "});
  }
  write_png(dir.file("whole.png"), noise_image(64, 64, 3, 1));
  for (size_t bytes : {size_t{8}, size_t{40}, file_bytes(dir.file("whole.png")).size() / 2,
                       file_bytes(dir.file("whole.png")).size() - 4}) {
    truncate_copy(dir.file("whole.png"), dir.file("cut.png"), bytes);
    expect_error([&] { read_image(dir.file("cut.png")); }, {dir.file("cut.png") + ": corrupt PNG: "});
  }
}

// Resizing ---------------------------------------------------------------------------------------

TEST(ImageFolder, AJpegHeaderClaimingAHugeImageIsRefusedBeforeDecoding) {
  TempDir dir;
  // Progressive: libjpeg's jpeg_start_decompress then allocates every coefficient of the image
  // (60000^2 x 3 x 2 bytes = 20 GiB) before a check after it could refuse.
  write_jpeg(dir.file("small.jpg"), noise_image(8, 8, 3, 1), 95, true);
  std::ifstream in(dir.file("small.jpg"), std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The frame header (SOF0 or SOF2): FF C0|C2, length (2), precision (1), height (2), width (2).
  size_t sof = 0;
  for (size_t i = 0; i + 8 < bytes.size() && sof == 0; ++i)
    if (bytes[i] == 0xFF && (bytes[i + 1] == 0xC0 || bytes[i + 1] == 0xC2)) sof = i;
  ASSERT_NE(sof, 0u);
  for (size_t k : {5, 7}) {  // 60000 x 60000 (libjpeg's own limit is 65500 a side)
    bytes[sof + k] = 0xEA;
    bytes[sof + k + 1] = 0x60;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const long before = usage.ru_maxrss;
  expect_error([&] { decode_jpeg(bytes.data(), bytes.size(), "huge.jpg"); },
               {"huge.jpg", "60000x60000 pixels, more than the 67108864 an image may have"});
  getrusage(RUSAGE_SELF, &usage);
  EXPECT_LT(usage.ru_maxrss - before, 100 * 1024) << "kB of peak memory for a 1 kB file";
}

TEST(ImageFolder, BilinearKeepsAConstantImageConstant) {
  for (const auto& [h, w, to_h, to_w] :
       {std::array<int64_t, 4>{7, 5, 3, 11}, {13, 17, 40, 9}, {1, 1, 6, 4}, {32, 32, 32, 32}, {300, 200, 32, 32}}) {
    Image image = blank_image(h, w, 3);
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>(37 + 100 * (i % 3));
    const Image out = resize_bilinear(image, to_h, to_w);
    ASSERT_EQ(out.height, to_h);
    ASSERT_EQ(out.width, to_w);
    for (size_t i = 0; i < out.pixels.size(); ++i) {
      ASSERT_EQ(out.pixels[i], 37 + 100 * (i % 3)) << h << "x" << w << " -> " << to_h << "x" << to_w << " at " << i;
    }
  }
}

TEST(ImageFolder, BilinearTwoByTwoToFourByFour) {
  Image image = blank_image(2, 2, 1);
  image.pixels = {0, 100, 200, 40};
  // Source coordinates of the outputs: clamp(-0.25) = 0, 0.25, 0.75, clamp(1.25) = 1.
  const std::vector<uint8_t> expected{0,   25,  75, 100,  // row 0
                                      50,  59,  76, 85,   // 0.75 row 0 + 0.25 row 1 (58.75, 76.25)
                                      150, 126, 79, 55,   // 0.25 row 0 + 0.75 row 1 (126.25, 78.75)
                                      200, 160, 80, 40};  // row 1
  EXPECT_EQ(resize_bilinear(image, 4, 4).pixels, expected);
  // Each channel on its own.
  Image rgb = convert_channels(image, 3);
  const Image out = resize_bilinear(rgb, 4, 4);
  for (size_t p = 0; p < 16; ++p) {
    for (size_t c = 0; c < 3; ++c) ASSERT_EQ(out.pixels[3 * p + c], expected[p]);
  }
}

TEST(ImageFolder, BilinearHalvingAveragesTwoByTwoBlocks) {
  Image image = blank_image(4, 4, 1);
  image.pixels = {0, 10, 20, 30,  //
                  4, 6,  50, 51,  //
                  9, 9,  1,  2,   //
                  9, 9,  3,  5};
  // Means 5, 37.75, 9, 2.75, rounded.
  EXPECT_EQ(resize_bilinear(image, 2, 2).pixels, (std::vector<uint8_t>{5, 38, 9, 3}));
  expect_same(resize_bilinear(image, 4, 4), image);
}

// The folder ------------------------------------------------------------------------------------

void write_folder_image(const std::string& path, const Image& image) {
  fs::create_directories(fs::path(path).parent_path());
  write_png(path, image);
}

// A constant image whose value encodes (label, file index).
Image coded(int label, int index, int64_t height = 5, int64_t width = 6) {
  Image image = blank_image(height, width, 3);
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    image.pixels[i] = static_cast<uint8_t>(100 * label + 10 * index + static_cast<int>(i % 3));
  }
  return image;
}

TEST(ImageFolder, ListsClassesAndFilesInSortedOrder) {
  TempDir dir;
  const std::string root = dir.file("root");
  for (const char* name : {"2.png", "10.PNG", "01.jpeg", "b.JPG"})
    write_folder_image(root + "/zebra/" + std::string(name), coded(0, 0));
  write_folder_image(root + "/ant/x.png", coded(0, 0));
  testing::write_bytes(root + "/ant/notes.txt", {'x'});
  testing::write_bytes(root + "/README", {'x'});
  testing::write_bytes(root + "/zebra/.hidden.png", {'x'});
  fs::create_directories(root + "/.cache");
  const ImageFolder folder = list_image_folder(root);
  EXPECT_EQ(folder.classes, (std::vector<std::string>{"ant", "zebra"}));
  ASSERT_EQ(folder.files.size(), 2u);
  EXPECT_EQ(folder.files[0], (std::vector<std::string>{root + "/ant/x.png"}));
  EXPECT_EQ(folder.files[1], (std::vector<std::string>{root + "/zebra/01.jpeg", root + "/zebra/10.PNG",
                                                       root + "/zebra/2.png", root + "/zebra/b.JPG"}));
  EXPECT_EQ(folder.ignored, 4);  // notes.txt, README, .hidden.png, .cache

  fs::create_directories(root + "/empty");
  testing::write_bytes(root + "/empty/a.gif", {'x'});
  expect_error([&] { list_image_folder(root); }, {root + "/empty: no images (.jpg, .jpeg, .png)"});
  expect_error([&] { list_image_folder(dir.file("nope")); }, {dir.file("nope") + ": no such folder"});
  fs::create_directories(dir.file("flat"));
  write_png(dir.file("flat/a.png"), coded(0, 0));
  expect_error([&] { list_image_folder(dir.file("flat")); }, {dir.file("flat") + ": no class folders"});
}

struct Read {
  std::vector<hsize_t> dims;
  std::vector<uint8_t> data;
  std::vector<int32_t> labels;
  std::vector<std::string> classes;
  std::vector<double> mean, std;
};

Read read_back(const std::string& path) {
  Read r;
  H5Id file = open_file(path, false);
  H5Id data = open_dataset(file.get(), "/data", path), label = open_dataset(file.get(), "/label", path);
  r.dims = dataset_dims(data.get(), path);
  size_t count = 1;
  for (hsize_t d : r.dims) count *= d;
  r.data.resize(count);
  r.labels.resize(r.dims[0]);
  if (count > 0) {
    h5_check(H5Dread(data.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, r.data.data()), path);
    h5_check(H5Dread(label.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, r.labels.data()), path);
  }
  r.classes = read_string_list_attribute(file.get(), "classes", path);
  r.mean = read_float_list_attribute(file.get(), "mean", path);
  r.std = read_float_list_attribute(file.get(), "std", path);
  return r;
}

// ROOT/{cat,ant}/NN.png with coded() pixels; the order of creation is not the sorted one.
std::string make_coded_folder(const TempDir& dir, int per_class) {
  std::string root = dir.file("images");
  for (int label : {1, 0}) {
    for (int i = per_class - 1; i >= 0; --i) {
      char name[16];
      std::snprintf(name, sizeof name, "%02d.png", i);
      write_folder_image(root + (label == 0 ? "/ant/" : "/cat/") + name, coded(label, i));
    }
  }
  return root;
}

TEST(ImageFolder, ConvertsInSortedOrderWithStatistics) {
  TempDir dir;
  const std::string root = make_coded_folder(dir, 4);
  ImageOptions options;
  options.threads = 3;
  const ImageConversion c = convert_image_folder(root, dir.file("out.h5"), options);
  EXPECT_EQ(c.classes, 2);
  EXPECT_EQ(c.height, 5);
  EXPECT_EQ(c.width, 6);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].images, 8);
  const Read r = read_back(dir.file("out.h5"));
  EXPECT_EQ(r.dims, (std::vector<hsize_t>{8, 3, 5, 6}));
  EXPECT_EQ(r.classes, (std::vector<std::string>{"ant", "cat"}));
  EXPECT_EQ(r.labels, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1}));
  std::vector<double> sum(3), sum_squares(3);
  for (int row = 0; row < 8; ++row) {
    const int label = row / 4, index = row % 4;
    for (int c = 0; c < 3; ++c) {
      // Planar: each channel's 30 pixels together.
      const int expected = 100 * label + 10 * index + c;
      for (int p = 0; p < 30; ++p) ASSERT_EQ(r.data[static_cast<size_t>((row * 3 + c) * 30 + p)], expected);
      sum[c] += expected / 255.0;
      sum_squares[c] += (expected / 255.0) * (expected / 255.0);
    }
  }
  for (int c = 0; c < 3; ++c) {
    const double mean = sum[c] / 8, std = std::sqrt(sum_squares[c] / 8 - mean * mean);
    EXPECT_NEAR(r.mean[c], mean, 1e-12);
    EXPECT_NEAR(r.std[c], std, 1e-12);
  }
  EXPECT_FALSE(fs::exists(dir.file("out.h5.tmp")));
}

TEST(ImageFolder, OutputDoesNotDependOnTheThreads) {
  TempDir dir;
  const std::string root = dir.file("images");
  // 2 x 30 images, a third of them JPEGs: more than one block of decoding.
  fs::create_directories(root + "/a");
  fs::create_directories(root + "/b");
  for (int i = 0; i < 60; ++i) {
    const std::string path = root + (i % 2 ? "/b/" : "/a/") + std::to_string(i);
    if (i % 3 == 0) {
      write_jpeg(path + ".jpg", smooth_image(9, 7, 3, i));
    } else {
      write_png(path + ".png", noise_image(9, 7, 3, static_cast<uint32_t>(i)));
    }
  }
  ImageOptions one;
  one.threads = 1;
  ImageOptions many = one;
  many.threads = 5;
  convert_image_folder(root, dir.file("one.h5"), one);
  convert_image_folder(root, dir.file("many.h5"), many);
  const Read a = read_back(dir.file("one.h5")), b = read_back(dir.file("many.h5"));
  EXPECT_EQ(a.dims, (std::vector<hsize_t>{60, 3, 9, 7}));
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.mean, b.mean);
}

TEST(ImageFolder, SplitsTheLastFilesOfEachClassIntoValidation) {
  TempDir dir;
  const std::string root = make_coded_folder(dir, 5);
  ImageOptions options;
  options.val_per_class = 2;
  options.val_path = dir.file("val.h5");
  const ImageConversion c = convert_image_folder(root, dir.file("train.h5"), options);
  ASSERT_EQ(c.files.size(), 2u);
  EXPECT_EQ(c.files[0].images, 6);
  EXPECT_EQ(c.files[1].images, 4);
  const Read train = read_back(dir.file("train.h5")), val = read_back(dir.file("val.h5"));
  EXPECT_EQ(train.labels, (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(val.labels, (std::vector<int32_t>{0, 0, 1, 1}));
  const auto first_value = [](const Read& r, size_t row) { return r.data[row * 90]; };
  EXPECT_EQ(first_value(val, 0), 30);   // ant/03.png
  EXPECT_EQ(first_value(val, 3), 140);  // cat/04.png
  EXPECT_EQ(first_value(train, 5), 120);
  // Both files carry the training file's statistics: red values 0, 10, 20, 100, 110, 120 / 255.
  EXPECT_NEAR(train.mean[0], 60.0 / 255, 1e-12);
  EXPECT_EQ(val.mean, train.mean);
  EXPECT_EQ(val.std, train.std);
  EXPECT_EQ(val.classes, train.classes);

  options.val_per_class = 5;
  expect_error([&] { convert_image_folder(root, dir.file("t2.h5"), options); },
               {root + "/ant: 5 images, too few to keep the last 5 for validation"});
}

TEST(ImageFolder, ResizesGrayAndRgbToOneSize) {
  TempDir dir;
  const std::string root = dir.file("images");
  write_folder_image(root + "/a/1.png", blank_image(10, 20, 3));
  Image gray = blank_image(3, 3, 1);
  for (auto& p : gray.pixels) p = 90;
  write_folder_image(root + "/a/2.png", gray);
  ImageOptions options;
  expect_error([&] { convert_image_folder(root, dir.file("out.h5"), options); },
               {root + "/a/2.png: 3x3 but the first image (" + root + "/a/1.png) is 10x20; pass --size to resize"});
  EXPECT_FALSE(fs::exists(dir.file("out.h5")));
  EXPECT_FALSE(fs::exists(dir.file("out.h5.tmp")));
  options.height = 4;
  options.width = 8;
  convert_image_folder(root, dir.file("out.h5"), options);
  const Read r = read_back(dir.file("out.h5"));
  EXPECT_EQ(r.dims, (std::vector<hsize_t>{2, 3, 4, 8}));
  EXPECT_EQ(r.data[96], 90);  // the gray image, repeated into 3 channels and resized
  EXPECT_EQ(r.data.back(), 90);
  options.channels = 1;
  convert_image_folder(root, dir.file("gray.h5"), options);
  EXPECT_EQ(read_back(dir.file("gray.h5")).dims, (std::vector<hsize_t>{2, 1, 4, 8}));
}

TEST(ImageFolder, SkipsBadImagesOnlyWhenAsked) {
  TempDir dir;
  const std::string root = make_coded_folder(dir, 3);
  testing::write_bytes(root + "/cat/01.png", {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0});
  ImageOptions options;
  expect_error([&] { convert_image_folder(root, dir.file("out.h5"), options); }, {root + "/cat/01.png: corrupt PNG"});
  EXPECT_FALSE(fs::exists(dir.file("out.h5")));
  EXPECT_FALSE(fs::exists(dir.file("out.h5.tmp")));
  options.skip_bad = true;
  const ImageConversion c = convert_image_folder(root, dir.file("out.h5"), options);
  ASSERT_EQ(c.skipped.size(), 1u);
  EXPECT_NE(c.skipped[0].find(root + "/cat/01.png: corrupt PNG"), std::string::npos);
  EXPECT_EQ(read_back(dir.file("out.h5")).labels, (std::vector<int32_t>{0, 0, 0, 1, 1}));
}

}  // namespace
}  // namespace shardnet::io
