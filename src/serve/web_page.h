// Internal: the dotify web page (web/index.html, embedded at build time).
#pragma once

#include <string>

namespace mfkit {

const std::string& web_page_html();

}  // namespace mfkit
