# Writes OUTPUT, a C++ source defining one NUL-terminated `const char <name>[]` per asset of
# ASSETS_DIR (the report page's script and style sheets):
#   cmake -DOUTPUT=report_assets.cc -DASSETS_DIR=io/report_assets -P embed.cmake
# The report page is one self-contained file: what it needs is compiled in, not read from an
# installation directory at run time.
set(assets kUplotJs uPlot.iife.min.js kUplotCss uPlot.min.css kReportJs report.js kReportCss report.css)
set(source "// Generated from io/report_assets by embed.cmake: do not edit.\nnamespace shardnet::io::report_assets {\n")
while(assets)
  list(POP_FRONT assets name file)
  file(READ "${ASSETS_DIR}/${file}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND source "extern const char ${name}[];\nconst char ${name}[] = {${bytes}0x00};\n")
endwhile()
string(APPEND source "}  // namespace shardnet::io::report_assets\n")
file(WRITE "${OUTPUT}" "${source}")
