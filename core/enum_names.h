#pragma once
// Names of typed options (enums) for configuration files, flags, checkpoints and messages: one
// table per enum, parsed and printed through it.
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace shardnet {

template <typename E>
struct EnumName {
  E value;
  std::string_view name;
};

// "a, b or c": the accepted names, for messages.
template <typename E>
std::string enum_choices(std::span<const EnumName<E>> table) {
  std::string out;
  for (size_t i = 0; i < table.size(); ++i) {
    if (i > 0) out += i + 1 == table.size() ? " or " : ", ";
    out += table[i].name;
  }
  return out;
}

// Throws std::invalid_argument "unknown <what> 'text' (expected a, b or c)".
template <typename E>
E parse_enum(std::span<const EnumName<E>> table, std::string_view text, std::string_view what) {
  for (const auto& entry : table)
    if (entry.name == text) return entry.value;
  throw std::invalid_argument("unknown " + std::string(what) + " '" + std::string(text) + "' (expected " +
                              enum_choices(table) + ")");
}

template <typename E>
std::string_view enum_name(std::span<const EnumName<E>> table, E value) {
  for (const auto& entry : table)
    if (entry.value == value) return entry.name;
  throw std::logic_error("enum value without a name");
}

}  // namespace shardnet
