-- Reading files from the config is not allowed in fsmirror's sandbox.
for line in io.lines("/etc/lsyncd/targets") do
    sync { default.rsync, source = "/srv/data", target = line }
end
