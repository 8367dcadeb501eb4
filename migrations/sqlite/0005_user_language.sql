-- An account has no portal language until its user chooses one in Settings
-- (''), so the portal follows the login page's choice or the browser's
-- Accept-Language. Every account used to get 'en' by default, which cannot be
-- told apart from a choice of English: those become unchosen. Inserts always
-- bind the column, so SQLite's old default ('en') is never used.
UPDATE users SET language = '' WHERE language = 'en';
