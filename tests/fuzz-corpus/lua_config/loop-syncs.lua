-- One sync per volume, built in a loop. MIRROR_ROOT lets the same file serve several hosts.
settings {
    logfile    = "/var/log/lsyncd/lsyncd.log",
    statusFile = "/var/log/lsyncd/lsyncd.status",
    maxDelays  = 5000,
}

local root = os.getenv("MIRROR_ROOT") or "/srv"
local volumes = { "docs", "media", "db" }

local common = {
    default.rsync,
    delay   = 1,
    exclude = { "*.tmp", "*.swp", ".~lock.*" },
    rsync   = { archive = true, whole_file = true },
}

for _, volume in ipairs(volumes) do
    sync {
        common,
        name   = "mirror-" .. volume,
        source = root .. "/primary/" .. volume,
        target = string.format("%s/secondary/%s", root, volume),
    }
end
