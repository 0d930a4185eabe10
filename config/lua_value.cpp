#include "config/lua_value.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace fsmirror::config {

const LuaValue* LuaValue::field(std::string_view key) const {
    if (kind != Kind::table)
        return nullptr;
    const auto it =
        std::lower_bound(fields.begin(), fields.end(), key,
                         [](const LuaField& f, std::string_view k) { return f.key < k; });
    return it != fields.end() && it->key == key ? &it->value : nullptr;
}

LuaValue* LuaValue::field(std::string_view key) {
    return const_cast<LuaValue*>(static_cast<const LuaValue*>(this)->field(key));
}

std::string LuaValue::describe() const {
    switch (kind) {
    case Kind::nil:
        return "nil";
    case Kind::boolean:
        return boolean ? "true" : "false";
    case Kind::number:
        if (std::isfinite(number) && number == std::floor(number) && std::fabs(number) < 1e15)
            return fmt::format("{}", static_cast<long long>(number));
        return fmt::format("{}", number);
    case Kind::string:
        return fmt::format("'{}'", text);
    case Kind::table:
        return "a table";
    case Kind::function:
        return fmt::format("a function (defined at {})", text);
    case Kind::layer:
        return "default." + text;
    case Kind::builtin:
        return text;
    case Kind::other:
        return "a " + text;
    }
    return "nil";
}

LuaValue LuaValue::make_boolean(bool value) {
    LuaValue v;
    v.kind = Kind::boolean;
    v.boolean = value;
    return v;
}

LuaValue LuaValue::make_number(double value) {
    LuaValue v;
    v.kind = Kind::number;
    v.number = value;
    return v;
}

LuaValue LuaValue::make_string(std::string value) {
    LuaValue v;
    v.kind = Kind::string;
    v.text = std::move(value);
    return v;
}

LuaValue LuaValue::make_table() {
    LuaValue v;
    v.kind = Kind::table;
    return v;
}

LuaValue LuaValue::make_layer(std::string name) {
    LuaValue v;
    v.kind = Kind::layer;
    v.text = std::move(name);
    return v;
}

} // namespace fsmirror::config
