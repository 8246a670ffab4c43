#pragma once
// The filters (x | trim), tests (x is defined), methods (s.startswith(...)) and global functions
// (namespace(...), raise_exception(...)) chat templates use: one table row each, looked up by
// name; an unknown name is an error naming it.
#include <string>
#include <utility>
#include <vector>

#include "jinja_value.hpp"

namespace mixq::io::jinja {

using Args = std::vector<Value>;
using Kwargs = std::vector<std::pair<std::string, Value>>;

Value apply_filter(const std::string& name, const Value& v, const Args& args, const Kwargs& kwargs, const std::string& where);
bool apply_test(const std::string& name, const Value& v, const Args& args, const std::string& where);
Value call_method(const Value& object, const std::string& name, const Args& args, const Kwargs& kwargs, const std::string& where);
Value call_function(const std::string& name, const Args& args, const Kwargs& kwargs, const std::string& where);

}  // namespace mixq::io::jinja
