-- hyperliquid storage schema, version 1.
-- Prices, sizes and amounts are numeric (exact, never float); times are epoch milliseconds
-- (bigint) as sent by the API; raw keeps the original JSON row so unknown fields are never lost.
-- Natural keys are the primary keys: replays and reconnect overlaps upsert onto the same row.

CREATE TABLE IF NOT EXISTS hl_fills (
    user_address    text        NOT NULL,
    fill_key        text        NOT NULL,  -- hash:tid, or legacy:hash:oid:time:px:sz:startPosition
    coin            text        NOT NULL,
    px              numeric     NOT NULL,
    sz              numeric     NOT NULL,
    side            text        NOT NULL,
    time            bigint      NOT NULL,
    start_position  numeric,
    dir             text,
    closed_pnl      numeric,
    hash            text        NOT NULL,
    oid             bigint      NOT NULL,
    crossed         boolean,
    fee             numeric,
    tid             bigint,
    fee_token       text,
    builder_fee     numeric,
    twap_id         bigint,
    cloid           text,
    raw             jsonb       NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_address, fill_key)
);
CREATE INDEX IF NOT EXISTS hl_fills_user_time ON hl_fills (user_address, time);

CREATE TABLE IF NOT EXISTS hl_order_updates (
    user_address     text        NOT NULL,
    oid              bigint      NOT NULL,
    status           text        NOT NULL,
    status_timestamp bigint      NOT NULL,
    coin             text        NOT NULL,
    side             text,
    limit_px         numeric,
    sz               numeric,
    orig_sz          numeric,
    order_timestamp  bigint,
    cloid            text,
    raw              jsonb       NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_address, oid, status, status_timestamp)
);
CREATE INDEX IF NOT EXISTS hl_order_updates_user_time ON hl_order_updates (user_address, status_timestamp);

CREATE TABLE IF NOT EXISTS hl_trades (
    coin       text        NOT NULL,
    time       bigint      NOT NULL,
    tid        bigint      NOT NULL,
    side       text        NOT NULL,
    px         numeric     NOT NULL,
    sz         numeric     NOT NULL,
    hash       text,
    buyer      text,
    seller     text,
    raw        jsonb       NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (coin, time, tid)
);

CREATE TABLE IF NOT EXISTS hl_funding (
    user_address  text        NOT NULL,
    coin          text        NOT NULL,
    time          bigint      NOT NULL,
    usdc          numeric     NOT NULL,
    szi           numeric,
    funding_rate  numeric,
    n_samples     bigint,
    hash          text,
    raw           jsonb       NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_address, coin, time)
);
CREATE INDEX IF NOT EXISTS hl_funding_user_time ON hl_funding (user_address, time);

CREATE TABLE IF NOT EXISTS hl_ledger (
    user_address  text        NOT NULL,
    delta_key     text        NOT NULL,  -- digest of the delta's canonical JSON
    time          bigint      NOT NULL,
    hash          text        NOT NULL,
    delta_type    text        NOT NULL,
    usdc          numeric,
    token         text,
    amount        numeric,
    raw           jsonb       NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_address, time, hash, delta_type, delta_key)
);

CREATE TABLE IF NOT EXISTS hl_candles (
    coin        text        NOT NULL,
    interval    text        NOT NULL,
    open_time   bigint      NOT NULL,
    close_time  bigint,
    open_px     numeric     NOT NULL,
    close_px    numeric     NOT NULL,
    high_px     numeric     NOT NULL,
    low_px      numeric     NOT NULL,
    volume      numeric,
    num_trades  bigint,
    raw         jsonb       NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (coin, interval, open_time)
);
