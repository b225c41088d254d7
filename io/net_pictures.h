#pragma once
// PNG pictures of a trained net (shardnet visualize): its first convolution's filters, each
// layer's feature maps for one input, the saliency and Grad-CAM maps of the class it picks
// (core/inspection.h), and an autoencoder's reconstructions beside the originals.
#include <string>
#include <vector>

#include "core/inspection.h"
#include "core/net.h"

namespace shardnet::io {

// The filters of the first [conv] layer as a grid (RGB tiles when it takes 3 channels, else the
// first input channel in grey), each scaled to its own range. Returns false when the net has no conv.
bool write_filters_png(Net& net, const std::string& path);

// After net.forward(x) on one sample, with net.keep_outputs(true) set before it: a PNG per layer with (C, H, W) outputs
// of more than one pixel, named "<dir>/<NN>_<layer name>.png" (at most `max_maps` channels, each scaled to its own
// range). Returns the files written.
std::vector<std::string> write_feature_map_pngs(Net& net, const std::string& dir, int64_t max_maps = 64);

// The input, its saliency map and the saliency over the input, side by side ("saliency.png"), and
// the input with the Grad-CAM heat map over it ("gradcam.png", when the net has a spatial layer).
// `input` is one sample (1, ...). Returns the files written.
std::vector<std::string> write_explanation_pngs(const Tensor& input, const Shape& sample_shape,
                                                const ClassExplanation& explanation, const std::string& dir);

// Originals (one row of `per_row`) and the net's outputs of the same shape below them, in pairs of
// rows, for a batch of images (N, C, H, W) or (N, H, W). Throws when the output shape differs.
void write_reconstructions_png(Net& net, const Tensor& images, const std::string& path, int64_t per_row = 8);

}  // namespace shardnet::io
