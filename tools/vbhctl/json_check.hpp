// Test helper: python3 as an independent JSON parser for vbhctl's --json output.
#pragma once

#include <cstdlib>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace vbhctl {

// Runs python3 on the JSON text with a check script; true when both accept it.
inline bool python_accepts(const std::string& json, const std::string& check) {
    char path[] = "/tmp/vbhctl_json_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    bool written = write(fd, json.data(), json.size()) == static_cast<ssize_t>(json.size());
    close(fd);
    std::string cmd = std::string("python3 -m json.tool ") + path + " >/dev/null && python3 -c '" +
                      "import json,sys; d=json.load(open(sys.argv[1])); " + check + "' " + path;
    bool ok = written && std::system(cmd.c_str()) == 0;
    unlink(path);
    return ok;
}

} // namespace vbhctl
