#pragma once
// The files one run reads, and the rule for the files it writes: an output may replace only a
// writable regular file that is not an input of the same run. Inputs are told apart by device
// and inode, so a second name for the same file (a hard link, "./m.bin", a path through a
// symbolic link) is still recognised.
#include <string>

namespace mixq::io {

// One run: while a RunScope lives (the CLI opens one per command), the files read are recorded,
// and no output may replace one of them. Outside any scope (a library caller or a test that
// rewrites the files it reads, run after run), only the file-type rules below apply.
class RunScope {
 public:
  RunScope();
  ~RunScope();  // the outermost scope forgets the inputs
  RunScope(const RunScope&) = delete;
  RunScope& operator=(const RunScope&) = delete;
};

// Records that this run reads `path` (MappedFile and read_whole_file call it; loaders call it for
// the directories they read). Ignored outside a RunScope, and for paths that do not exist.
void note_input(const std::string& path);

// Throws an Error naming `path` (and `role`, e.g. "-o") unless an output may be written there:
// nothing exists at the path yet and its directory does, or it is a writable regular file that
// is not an input of this run. Symbolic links, devices, FIFOs and directories are never replaced.
void check_output_file(const std::string& path, const std::string& role = "output");

// The same for an output directory: absent, or a directory that is not an input directory.
void check_output_dir(const std::string& dir, const std::string& role = "output directory");

}  // namespace mixq::io
