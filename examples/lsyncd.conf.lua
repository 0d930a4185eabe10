-- An lsyncd configuration that fsmirror runs unchanged (issue 7):
--     fsmirror -nodaemon /etc/lsyncd/lsyncd.conf.lua
-- or, to see it as fsmirror's own YAML:  fsmirror convert /etc/lsyncd/lsyncd.conf.lua
-- It is the storage mirror of the lsyncd playbook fsmirror replaces: two encrypted volumes
-- holding SQLite databases, mirrored about a second behind. fsmirror's lsyncd documentation says
-- for each rsync option whether it is honoured, ignored with a warning, or refused.

settings {
    logfile        = "/var/log/lsyncd/lsyncd.log",
    statusFile     = "/var/log/lsyncd/lsyncd.status",
    statusInterval = 20,
    insist         = true,
    maxProcesses   = 1,
}

local volumes = {
    { source = "/mnt/storage_do_1/", target = "/mnt/storage_do_2/" },
}

for _, volume in ipairs(volumes) do
    sync {
        default.rsync,
        source  = volume.source,
        target  = volume.target,
        delay   = 1,
        delete  = true,
        exclude = { "lost+found", "*.tmp" },
        rsync   = {
            archive    = true,
            compress   = false,  -- local disks: compression only costs CPU
            whole_file = true,
            _extra     = { "--delete-after", "--inplace", "--no-perms", "--omit-dir-times" },
        },
    }
end
