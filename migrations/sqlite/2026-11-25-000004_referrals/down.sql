DROP TABLE referral_feed;
DROP TABLE referral_events;
DROP TABLE referrals;
