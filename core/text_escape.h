#pragma once
// Strings written into JSON and CSV files, quoted so that any content parses back as itself.
#include <string>
#include <string_view>

namespace shardnet {

// A JSON string literal: quotes and backslashes escaped, control characters as \u00XX.
std::string json_quoted(std::string_view text);
// A CSV field (RFC 4180): as it is, or in double quotes (doubled inside) when it holds a comma, a
// quote or a line break.
std::string csv_field(std::string_view text);

}  // namespace shardnet
