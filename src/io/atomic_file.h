// Internal: files written whole or not at all.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mfkit {

/// Writes `bytes` to a temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs
/// the folder: readers see the old file or the new one, never a part. Error names `what` and
/// `path` with the system's reason.
void write_file_atomically(const std::string& path, std::string_view bytes, const char* what = "file");
/// The same for a file made of `pieces` one after the other (never joined in memory).
void write_file_atomically(const std::string& path, const std::vector<std::string_view>& pieces,
                           const char* what = "file");

/// Checks, before any long work, that `path` can be written: its folder exists and takes a new
/// file, and `path` is not a folder. Error names `what` and `path` with the reason.
void check_writable(const std::string& path, const char* what = "file");

}  // namespace mfkit
