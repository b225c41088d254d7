#include "io/run_report.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "core/text_escape.h"

namespace shardnet::io {
namespace report_assets {
extern const char kUplotJs[];
extern const char kUplotCss[];
extern const char kReportJs[];
extern const char kReportCss[];
}  // namespace report_assets

namespace {

namespace fs = std::filesystem;

// A CSV file of numbers under a header line, by column ("nan" and empty fields are missing values).
struct NumberTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> values;  // per column
};

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

std::optional<NumberTable> read_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  NumberTable table;
  std::string line;
  if (!std::getline(in, line) || line.empty()) throw ReportError(path + ":1: no header line");
  table.columns = split_fields(line);
  table.values.resize(table.columns.size());
  for (int64_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const auto fields = split_fields(line);
    if (fields.size() != table.columns.size()) {
      throw ReportError(path + ":" + std::to_string(number) + ": " + std::to_string(fields.size()) +
                        " fields, the header has " + std::to_string(table.columns.size()));
    }
    for (size_t c = 0; c < fields.size(); ++c) {
      char* end = nullptr;
      const double v = std::strtod(fields[c].c_str(), &end);
      if (!fields[c].empty() && *end != '\0') {
        throw ReportError(path + ":" + std::to_string(number) + ": '" + fields[c] + "' in column " + table.columns[c] +
                          " is not a number");
      }
      table.values[c].push_back(fields[c].empty() ? std::nan("") : v);
    }
  }
  return table;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

std::string table_json(const std::optional<NumberTable>& table) {
  if (!table) return "null";
  std::string out = "{";
  for (size_t c = 0; c < table->columns.size(); ++c) {
    if (c > 0) out += ", ";
    out += json_quoted(table->columns[c]);
    out += ": [";
    for (size_t i = 0; i < table->values[c].size(); ++i) {
      if (i > 0) out += ',';
      out += json_number(table->values[c][i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

std::string run_json(const std::string& dir) {
  const auto metrics = read_table(dir + "/metrics.csv");
  if (!metrics) throw ReportError(dir + "/metrics.csv: cannot be read (is " + dir + " a run directory?)");
  std::string name = fs::path(dir).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(dir).lexically_normal().parent_path().filename().string();
  return "{\"name\": " + json_quoted(name) + ", \"command\": " + json_quoted(read_text(dir + "/command.txt")) +
         ", \"model\": " + json_quoted(read_text(dir + "/model.cfg")) + ", \"epochs\": " + table_json(metrics) +
         ", \"steps\": " + table_json(read_table(dir + "/steps.csv")) +
         ", \"ranks\": " + table_json(read_table(dir + "/ranks.csv")) + "}";
}

// Text inside a <script> or <style> element must not close it early.
std::string inside_element(std::string text) {
  for (size_t at = 0; (at = text.find("</", at)) != std::string::npos; at += 3) text.replace(at, 2, "<\\/");
  return text;
}

std::string html_text(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else if (c == '&') {
      out += "&amp;";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string run_report_html(const std::vector<std::string>& run_dirs, const std::string& title) {
  std::string runs;
  for (const std::string& dir : run_dirs) {
    if (!runs.empty()) runs += ", ";
    runs += run_json(dir);
  }
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                     html_text(title) + "</title>\n<style>\n";
  page += report_assets::kUplotCss;
  page += report_assets::kReportCss;
  page += "</style>\n</head>\n<body>\n<h1>" + html_text(title) +
          "</h1>\n<p class=\"note\">shardnet run report: rewritten at every epoch of a run; "
          "<code>shardnet report RUN...</code> compares runs.</p>\n<div id=\"charts\"></div>\n<div id=\"runs\"></div>\n"
          "<script id=\"report-data\" type=\"application/json\">" +
          inside_element("{\"runs\": [" + runs + "]}") + "</script>\n<script>\n";
  page += inside_element(report_assets::kUplotJs);
  page += "\n</script>\n<script>\n";
  page += inside_element(report_assets::kReportJs);
  page += "</script>\n</body>\n</html>\n";
  return page;
}

void write_run_report(const std::vector<std::string>& run_dirs, const std::string& path, const std::string& title) {
  const std::string page = run_report_html(run_dirs, title);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out || !out.write(page.data(), static_cast<std::streamsize>(page.size())) || !out.flush()) {
      throw ReportError(path + ": cannot be written");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw ReportError(path + ": cannot move the page into place: " + ec.message());
}

}  // namespace shardnet::io
