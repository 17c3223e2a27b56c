-- Routing by directory (aliases, merged agencies, groups) and federation of hubs by tier.
alter table hub.deliveries
    -- The address in the package's To list this recipient was resolved from (an alias, a merged agency's old
    -- code, a group such as communes:000.00.21.H29); null when the package names the recipient's own code.
    add column resolved_from text,
    -- The hub this delivery is handed to next (federation); null when this hub delivers to the recipient's gateway.
    add column next_hop text;
alter table hub.envelopes
    -- The hub that relayed the envelope here; null when this hub accepted it from the sender's gateway.
    add column relayed_by text,
    -- The hops before this hub and this hub's own (hub, time, action), carried beside the signed package.
    add column trace jsonb not null default '[]';
