-- One database per service: a service never reads another's.
CREATE DATABASE auth;
CREATE DATABASE tickets;
CREATE DATABASE orders;
CREATE DATABASE payments;
CREATE DATABASE notifications;
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
