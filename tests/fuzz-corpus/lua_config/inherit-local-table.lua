-- Two mirrors sharing their options through a local table, as lsyncd's inheritance allows.
local mirror = {
    default.rsync,
    delay  = 3,
    delete = "running",
    rsync  = { archive = true, _extra = { "--omit-dir-times" } },
}

sync { mirror, source = "/srv/a", target = "/backup/a" }
sync { mirror, source = "/srv/b", target = "/backup/b", delay = 10, rsync = { inplace = true } }
