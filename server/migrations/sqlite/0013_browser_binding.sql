-- Each pop-up flow is bound to the browser that started it (server/src/browser.rs): the
-- SHA-256 (hex) of that browser's binding cookie, kept with the sign-in token the flow bound
-- (set by the same conditional UPDATE that binds the token; the flow's other pages and its
-- result must come from that browser) and with the tracked flow (only that browser reloads it
-- or marks it returned). The upstream's pending state keeps it inside its sealed parameters.
ALTER TABLE sign_in_tokens ADD COLUMN browser TEXT;
ALTER TABLE popup_flows ADD COLUMN browser TEXT;
