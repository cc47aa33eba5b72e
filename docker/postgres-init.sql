-- Run once by the postgres image when it creates its data directory: a login for the runtime
-- role, which the service's own sessions use. `countersign migrate` (run by the server at
-- start-up, as the owner `countersign`) grants it what it needs and nothing on the audit tables
-- beyond reading them. Change the password for anything but a trial.
CREATE ROLE countersign_app LOGIN PASSWORD 'countersign_app';
