#pragma once
// Looking inside a trained net for one input (Simonyan et al. 2014, Selvaraju et al. 2017):
// which class it picks, the saliency map (|d score / d input|, the largest over channels) and the
// Grad-CAM map of its last spatial layer (ReLU of the feature maps weighted by the mean gradient of
// the class score over each map), resized to the input.
#include <cstdint>
#include <optional>

#include "core/net.h"

namespace shardnet {

struct ClassExplanation {
  int64_t class_id = 0;    // the class explained: the one asked for, or the net's top class
  float score = 0.0f;      // its output (the logit, for a softmax classifier)
  Tensor saliency;         // (H, W) of the input, >= 0
  Tensor grad_cam;         // (H, W) of the input in [0, 1]; empty when no layer is spatial
  int64_t cam_layer = -1;  // the layer whose maps Grad-CAM weighs (-1: none)
};

// The last layer whose output is (C, H, W) maps of more than one pixel, before the first layer
// that is not (a dense head); -1 when there is none.
int64_t last_spatial_layer(Net& net);

// `input` is one sample with the batch dimension (1, C, H, W) or (1, H, W); the net runs in
// evaluation mode. Throws std::invalid_argument when class_id is not one of the net's outputs.
ClassExplanation explain_class(Net& net, const Tensor& input, std::optional<int64_t> class_id = std::nullopt);

// Bilinear resize of one (H, W) map (align_corners = False), for heat maps over the input.
Tensor resize_map(const Tensor& map, int64_t height, int64_t width);

}  // namespace shardnet
