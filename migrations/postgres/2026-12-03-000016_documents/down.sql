DROP TABLE referral_documents;
DROP TABLE documents;
